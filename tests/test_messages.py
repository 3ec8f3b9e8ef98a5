"""Issue 13, "Messages": what an analyst reads, checked on the captured Slack and webhook bodies,
the mail the SMTP server accepted, the console output and the Prefect alert table."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from extractors.article import Article
from extractors.watchlist import load_watchlist
from flows.cli import main
from flows.deliver import messages
from flows.pipeline import Config, process_batch
from flows.store.db import connect
from flows.store.outbox import drain
from tests.servers import HTTPServer, SMTPServer, respond
from tests.test_faults_messages import FSI, PDI, default_channel, mail_parts, slack_posts, smtp, strings, web  # noqa: F401

HEADLINE = "Kataib Hezbollah threatens US bases"
QUOTES = [
    "Kata'ib Hezbollah said all American bases in Iraq will be targeted if the strikes continue.",
    "Kataib Hezbollah repeated that every base will be targeted within days.",
]


def world(tmp_path: Path, web: HTTPServer, smtp: SMTPServer, severity: str = "critical") -> Config:
    port = web.url.rsplit(":", 1)[1]
    path = tmp_path / "watchlist.yaml"
    path.write_text(yaml.safe_dump({
        "version": 1,
        "actors": [{"id": "kataib-hezbollah", "name": "Kata'ib Hezbollah", "kind": "armed-group", "aliases": ["Kataib Hezbollah"]}],
        "lexicons": {"threat": ["threat*", "will be targeted"]},
        "rules": [{"id": "threat", "title": "Armed group issues a threat", "severity": severity, "query": "kind:armed-group NEAR/15 lexicon:threat"}],
        "channels": {
            "slack": f"slack+{web.url}/slack",
            "hook": f"json://127.0.0.1:{port}/hook",
            "mail": f"mailto://127.0.0.1:{smtp.port}?from=tocsin@example.org&to=analyst@example.org&mode=insecure",
        },
    }))
    return Config(str(path), f"sqlite:///{tmp_path / 'state.db'}")


def deliver(config: Config, *articles: Article) -> None:
    process_batch(config, [("feed", a.id, a) for a in articles])
    drain(connect(config.state_url), load_watchlist(config.watchlist))  # each test checks what its channel received


def story(published: datetime | None = datetime(2026, 11, 23, 10, tzinfo=UTC), title: str = HEADLINE, paragraphs: list[str] = QUOTES) -> Article:
    return Article(id="a1", title=title, paragraphs=paragraphs, source="Wire", url="https://wire.example/story", published=published)


def slack_shown(web: HTTPServer) -> str:
    [(_, payload)] = slack_posts(web)
    return "\n".join(strings(payload["attachments"]))


@pytest.mark.parametrize(("severity", "kind"), [("critical", "failure"), ("high", "failure"), ("medium", "warning")])
def test_severity_sets_the_slack_colour_and_the_webhook_type(severity: str, kind: str, tmp_path: Path, web: HTTPServer, smtp: SMTPServer) -> None:
    deliver(world(tmp_path, web, smtp, severity), story())
    [(_, payload)] = slack_posts(web)
    assert payload["attachments"][0]["color"] == messages.SEVERITY_COLOUR[severity]
    assert payload["text"] == f"{messages.SEVERITY_MARK[severity]} *{severity.upper()}* · Armed group issues a threat"
    [hook] = web.posted_json("/hook")
    assert hook["type"] == kind and hook["severity"] == severity


def test_slack_shows_the_headline_once_linked_actor_names_and_emphasized_terms(tmp_path: Path, web: HTTPServer, smtp: SMTPServer) -> None:
    deliver(world(tmp_path, web, smtp), story())
    shown = slack_shown(web)
    [(body, _)] = slack_posts(web)
    assert body.decode().count("US bases") == 1  # the headline, once: not in the title, not quoted again
    assert "<https://wire.example/story|*Kataib Hezbollah* *threatens* US bases>" in shown  # a link back to the article
    assert "Kata'ib Hezbollah" in shown and "kataib-hezbollah" not in shown
    assert "> *Kata'ib Hezbollah* said all American bases in Iraq *will be targeted* if the strikes continue." in shown


def test_email_reads_in_two_seconds(tmp_path: Path, web: HTTPServer, smtp: SMTPServer) -> None:
    deliver(world(tmp_path, web, smtp), story(published=None))
    [mail] = smtp.messages
    parts = mail_parts(mail)
    lines = [line.strip() for line in parts["text/plain"].splitlines()]
    assert "*Kata'ib Hezbollah* said all American bases in Iraq *will be targeted* if the strikes continue." in lines  # one line per quote
    assert "*Kataib Hezbollah* repeated that every base *will be targeted* within days." in lines
    assert "Published" not in parts["text/plain"] and "Published" not in parts["text/html"]  # no "Published: -"
    assert "Actors: Kata'ib Hezbollah" in parts["text/plain"] and "kataib-hezbollah" not in parts["text/plain"]
    assert "Link: https://wire.example/story" in parts["text/plain"]
    assert parts["text/html"].count("US bases") == 1


def test_the_webhook_body_is_the_alert_object(tmp_path: Path, web: HTTPServer, smtp: SMTPServer) -> None:
    deliver(world(tmp_path, web, smtp), story())
    [body] = web.posted_json("/hook")
    assert "message" not in body  # not a JSON string inside apprise's envelope
    assert body["rule"] == "threat" and body["key"].startswith("threat:") and body["evidence"][0]["terms"]
    assert body["article"]["url"] == "https://wire.example/story" and body["actor_names"] == ["Kata'ib Hezbollah"]


def test_console_emphasizes_terms_and_names_actors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TOCSIN_HOME", str(tmp_path))
    default_channel(tmp_path).send([_alert("Kata'ib Hezbollah said the bases will be targeted.", "will be targeted")])
    out = capsys.readouterr().out
    assert "> Kata'ib Hezbollah said the bases *will be targeted*." in out
    assert "Actors: Kata'ib Hezbollah" in out and "Published" not in out


def test_right_to_left_evidence_is_isolated_and_labels_stay_intact(
    tmp_path: Path, web: HTTPServer, smtp: SMTPServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.test_faults_messages import channels

    arabic = "قالت كتائب حزب الله إن القواعد الأمريكية ستستهدف"
    a = _alert(arabic, "ستستهدف", source="الجزيرة")
    for channel in channels(web, smtp, tmp_path).values():
        channel.send([a])
    monkeypatch.setenv("TOCSIN_HOME", str(tmp_path))
    default_channel(tmp_path).send([a])
    out = capsys.readouterr().out
    assert f"> {FSI}قالت كتائب حزب الله إن القواعد الأمريكية *ستستهدف*{PDI}" in out
    assert f"Outlet: {FSI}الجزيرة{PDI}" in out
    assert f"> {FSI}قالت كتائب حزب الله إن القواعد الأمريكية *ستستهدف*{PDI}" in slack_shown(web)
    html = mail_parts(smtp.messages[0])["text/html"]
    assert '<p dir="auto"' in html and "ستستهدف" in html


def test_alerts_lists_the_reason_a_delivery_is_pending(tmp_path: Path, web: HTTPServer, smtp: SMTPServer,
                                                       monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    config = world(tmp_path, web, smtp)
    web.routes["/hook"] = respond(b"down", status=503)
    process_batch(config, [("feed", "a1", story(title="Kataib Hezbollah threatens US bases \x1b]0;pwned\x07"))])
    drain(connect(config.state_url), load_watchlist(config.watchlist))
    monkeypatch.setenv("TOCSIN_STATE_URL", config.state_url)
    capsys.readouterr()
    assert main(["alerts", "--watchlist", config.watchlist]) == 0
    out = capsys.readouterr().out
    assert "hook: pending (channel 'hook': HTTP 503" in out and "slack: sent" in out
    assert "\x1b" not in out and "\x07" not in out


def test_the_alert_list_has_headline_sentence_and_a_real_link() -> None:
    row = messages.table_row(messages.named({**_alert("They said | the base will be targeted.", "will be targeted"),
                                             "article": {"title": "A | B [x](javascript:y)", "url": "https://wire.example/s", "source": "W"}},
                                            {"kataib-hezbollah": "Kata'ib Hezbollah"}))
    files = messages.table_row({**_alert("x y", "y"), "severity": "low", "article": {"title": "From a file", "url": None}})
    blocks = messages.alert_list([files, row]).split("\n\n#### ")
    assert len(blocks) == 2 and blocks[0].startswith("#### 🟠 HIGH · Armed group issues a threat")  # most severe first
    assert "[A \\| B \\[x\\]\\(javascript:y\\)](https://wire.example/s) — W · Kata'ib Hezbollah" in blocks[0]  # linked headline
    assert "> They said \\| the base **will be targeted**\\." in blocks[0]
    assert blocks[1].startswith("🔵 LOW") and "\n\nFrom a file" in blocks[1] and "](" not in blocks[1]  # no link, no path
    assert messages.alert_list([]) == "No alerts."


def _alert(sentence: str, term: str, source: str = "Wire") -> dict[str, Any]:
    at = sentence.index(term)
    return {"rule": "threat", "title": "Armed group issues a threat", "severity": "high", "actors": ["kataib-hezbollah"],
            "evidence": [{"text": sentence, "start": 0, "end": len(sentence), "terms": [{"text": term, "start": at, "end": at + len(term)}]}],
            "article": {"id": "a1", "title": "Headline", "url": "https://wire.example/s", "source": source, "published": None},
            "key": "threat:1", "outlets": []}


def test_markdown_artifact_text_is_inert() -> None:
    """Feed errors (a redirect target), file errors and delivery reasons go into the run summary
    through the markdown escaper: no link, image, HTML, emphasis or table cell can be made."""
    hostile = "redirect to http://169.254.169.254/latest [x](javascript:y) ![i](http://e.example/p.png) <b>x</b> **b** a|b \x1b[2J"
    out = messages.md(hostile)
    assert "://" not in out and "](" not in out.replace("\\](", "") and "<" not in out and "\x1b" not in out
    assert re.search(r"(?<!\\)[*|\[]", out) is None  # every * | [ escaped


def test_services_sent_by_apprise_get_the_severity_type(web: HTTPServer) -> None:
    """Any other apprise service (here its form:// webhook) is told "failure", not blue "info",
    for a critical alert, and receives the plain-text form."""
    from urllib.parse import parse_qs

    from flows.deliver.channels import Channel

    port = web.url.rsplit(":", 1)[1]
    Channel("form", f"form://127.0.0.1:{port}/hook").send([{**_alert("They said the base will be targeted.", "will be targeted"), "severity": "critical"}])
    [(_, _, _, body)] = web.requests
    form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
    assert form["type"] == "failure" and form["title"].startswith("[CRITICAL]")
    assert "> They said the base *will be targeted*." in form["message"]
