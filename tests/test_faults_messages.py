"""Issue 10 (items 4, 7, 13's terminal escapes) and issue 13 ("Messages"): what actually leaves
tocsin — the Slack and webhook bodies captured by a local HTTP endpoint, the mail accepted by a
real SMTP server (with auth), the console output — for hostile article text, and for secrets
that contain URL delimiters."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
import sqlalchemy as sa
import yaml

from extractors.article import Article
from extractors.watchlist import load_watchlist
from flows.cli import main
from flows.deliver import messages
from flows.deliver.channels import Channel, DeliveryError, redact, resolve
from flows.pipeline import Config, process_batch
from flows.store.db import connect, deliveries
from flows.store.outbox import drain
from tests.servers import HTTPServer, SMTPServer, respond

PASSWORD = "p@ss/w:rd#1?x&y"  # every URL delimiter a password can hold

# Hostile text, placed in the headline, the evidence sentence, the outlet name and the link.
INJECTIONS = {
    "mentions": "<!channel> <!here> <!everyone> <@U123> <#C123> <!subteam^S1>",
    "link-hijack": "<https://evil.example|Reuters> http://evil.example|click",
    "mrkdwn": "*bold* _it_ ~strike~ `code` ```block```",
    "html": "<script>alert(1)</script><img src=x onerror=alert(2)><a href='javascript:x'>y</a>",
    "crlf": "line\r\nBcc: victim@example.org\r\n\r\nbody",
    "ansi": "\x1b[31mRED\x1b[0m \x1b]8;;https://evil.example\x07click\x1b]8;;\x07 \x1b]52;c;ZWNobyBoaQ==\x07 \x9b2J",
    "bidi": "\u202eevil\u202c \u2066x\u2069 \u2067y",
    "entities": "AT&T <3 > 2 &amp; &lt;",
}
EVIL_URL = "https://evil.example/!channel"
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")  # \t and \n are ours to use
FSI, PDI = "\u2068", "\u2069"


@pytest.fixture()
def web() -> Iterator[HTTPServer]:
    s = HTTPServer()
    s.routes["/slack"] = respond(b"ok")
    s.routes["/hook"] = respond(b"ok")
    yield s
    s.close()


@pytest.fixture()
def smtp() -> Iterator[SMTPServer]:
    s = SMTPServer(password=PASSWORD)
    yield s
    s.close()


def alert(text: str, *, severity: str = "critical", source: str = "Wire", url: str | None = EVIL_URL, published: str | None = None) -> dict[str, Any]:
    """An alert whose headline, evidence and outlet carry ``text``; the matched term is 'threat'."""
    sentence = f"{text} threat"
    start = len(text) + 1
    return {
        "rule": "threat", "title": "Armed group issues a threat", "severity": severity, "actors": ["kataib-hezbollah"],
        "evidence": [{"text": sentence, "start": 100, "end": 100 + len(sentence),
                      "terms": [{"text": "threat", "start": 100 + start, "end": 100 + start + 6}]}],
        "article": {"id": "a1", "title": f"Headline {text}", "url": url, "source": source, "published": published},
        "key": "threat:1", "outlets": [{"source": source, "url": url}, {"source": f"Other {text}", "url": "https://other.example/"}],
    }


def channels(web: HTTPServer, smtp: SMTPServer, tmp_path: Path) -> dict[str, Channel]:
    """The Slack, webhook and mail channels of a watch list, resolved as a drain resolves them."""
    port = web.url.rsplit(":", 1)[1]
    path = tmp_path / "channels.yaml"
    path.write_text(yaml.safe_dump({
        "version": 1,
        "actors": [{"id": "kataib-hezbollah", "name": "Kata'ib Hezbollah", "kind": "armed-group"}],
        "rules": [{"id": "threat", "title": "Armed group issues a threat", "severity": "high", "query": "kind:armed-group"}],
        "channels": {
            "slack": f"slack+{web.url}/slack",
            "hook": f"json://127.0.0.1:{port}/hook",
            "mail": f"mailto://alice:{quote(PASSWORD, safe='')}@127.0.0.1:{smtp.port}?from=tocsin@example.org&to=analyst@example.org&mode=insecure",
        },
    }))
    watchlist = load_watchlist(str(path))
    return {name: resolve(watchlist, name) for name in ("slack", "hook", "mail")}


def default_channel(tmp_path: Path) -> Channel:
    path = tmp_path / "default.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "actors": [{"id": "kataib-hezbollah", "name": "Kata'ib Hezbollah", "kind": "armed-group"}],
                                    "rules": [{"id": "threat", "title": "T", "severity": "high", "query": "kind:armed-group"}]}))
    return resolve(load_watchlist(str(path)), "default")


def strings(value: Any) -> Iterator[str]:
    """Every string in a JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)


def slack_posts(web: HTTPServer) -> list[tuple[bytes, dict[str, Any]]]:
    return [(body, json.loads(body)) for m, p, _, body in web.requests if m == "POST" and p == "/slack"]


def mail_parts(mail: Message) -> dict[str, str]:
    return {p.get_content_type(): p.get_payload(decode=True).decode() for p in mail.walk() if not p.is_multipart()}


def assert_slack_inert(body: bytes, payload: dict[str, Any], allowed_links: set[str]) -> None:
    assert b"\\u001b" not in body.lower() and b"\\r" not in body
    for s in strings(payload):
        assert not CONTROL.search(s), repr(s)
        for link in re.findall(r"<([^>]*)>", s):  # Slack's only control syntax: <…>
            url, _, label = link.partition("|")
            assert url in allowed_links, f"live Slack control sequence <{link}> in {s!r}"
            assert "<" not in label
        if "&amp;amp; &amp;lt;" not in s:  # (the corpus's own literal "&amp; &lt;", escaped once)
            assert "&amp;amp;" not in s and "&amp;lt;" not in s
        assert re.search(r"(?<!\u200b)\*bold\*|(?<!\u200b)_it_|~strike~(?!\u200b)", s) is None, s


def send_corpus(channel: Channel, text: str) -> dict[str, Any]:
    """One page and one digest carrying ``text`` everywhere; the page's alert."""
    a = alert(text, source=f"Outlet {text}")
    channel.send([a])
    channel.send([a, alert(text, severity="info", url="https://ok.example/a")], digest=True)
    return a


@pytest.mark.parametrize("kind", INJECTIONS)
def test_injection_corpus_arrives_inert_in_slack(kind: str, web: HTTPServer, smtp: SMTPServer, tmp_path: Path) -> None:
    send_corpus(channels(web, smtp, tmp_path)["slack"], INJECTIONS[kind])
    posts = slack_posts(web)
    assert len(posts) == 2
    for body, payload in posts:
        assert_slack_inert(body, payload, {EVIL_URL, "https://ok.example/a"})
    single = posts[0][1]
    if kind == "entities":  # ordinary & < > readable: escaped exactly once
        shown = "\n".join(strings(single["attachments"]))
        assert "AT&amp;T &lt;3 &gt; 2 &amp;amp; &amp;lt;" in shown
        assert "&amp;amp;T" not in posts[0][0].decode()  # not twice


@pytest.mark.parametrize("kind", INJECTIONS)
def test_injection_corpus_reaches_a_webhook_as_data(kind: str, web: HTTPServer, smtp: SMTPServer, tmp_path: Path) -> None:
    a = send_corpus(channels(web, smtp, tmp_path)["hook"], INJECTIONS[kind])
    page, digest = [json.loads(body) for m, p, _, body in web.requests if p == "/hook"]
    assert page["evidence"][0]["text"] == a["evidence"][0]["text"]  # the alert object, unchanged: JSON is its escaping
    assert page["type"] == "failure" and page["severity"] == "critical"
    assert not CONTROL.search(page["summary"])
    assert digest["digest"] is True and len(digest["alerts"]) == 2


@pytest.mark.parametrize("kind", INJECTIONS)
def test_injection_corpus_arrives_inert_by_email(kind: str, web: HTTPServer, smtp: SMTPServer, tmp_path: Path) -> None:
    send_corpus(channels(web, smtp, tmp_path)["mail"], INJECTIONS[kind])
    assert len(smtp.messages) == 2
    for mail in smtp.messages:
        assert mail["Bcc"] is None and not CONTROL.search(mail["Subject"]) and "\n" not in mail["Subject"]
        for ctype, part in mail_parts(mail).items():
            assert not CONTROL.search(part.replace("\r", "")), (ctype, repr(part))
            if ctype == "text/html":
                assert "<script" not in part and "<img" not in part and "href='javascript" not in part and 'href="javascript' not in part
                assert "&amp;amp;" not in part.replace("&amp;amp; &amp;lt;", "")
                if kind == "entities":
                    assert "AT&amp;T &lt;3 &gt; 2 &amp;amp; &amp;lt;" in part  # the article's own "&amp;" is text too


@pytest.mark.parametrize("kind", INJECTIONS)
def test_injection_corpus_is_inert_on_the_console(kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TOCSIN_HOME", str(tmp_path))
    send_corpus(default_channel(tmp_path), INJECTIONS[kind])
    out = capsys.readouterr().out
    assert "Armed group issues a threat" in out and not CONTROL.search(out), repr(out)


def test_hostile_links_and_outlet_names_cannot_make_or_hijack_a_slack_link(web: HTTPServer, smtp: SMTPServer, tmp_path: Path) -> None:
    chans = channels(web, smtp, tmp_path)
    for url in (EVIL_URL, "https://evil.example/a|<!here>", "https://evil.example/a>b", "javascript:alert(1)", "https://x.example/ <!channel>"):
        chans["slack"].send([alert("x", source="http://evil.example|click", url=url)])
    links = [re.findall(r"<([^>]*)>", s) for _, p in slack_posts(web) for s in strings(p)]
    flat = [link for found in links for link in found]
    assert flat and set(flat) == {f"{EVIL_URL}|Headline x"}  # only the safe article link, labelled with its headline


def test_a_hostile_story_end_to_end_through_the_store_and_drain(web: HTTPServer, smtp: SMTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOCSIN_TEST_SMTP_PASSWORD", PASSWORD)
    port = web.url.rsplit(":", 1)[1]
    path = tmp_path / "watchlist.yaml"
    path.write_text(yaml.safe_dump({
        "version": 1,
        "actors": [{"id": "kataib-hezbollah", "name": "Kata'ib Hezbollah", "kind": "armed-group", "aliases": ["Kataib Hezbollah"]}],
        "lexicons": {"threat": ["threat*"]},
        "rules": [{"id": "threat", "title": "Armed group issues a threat", "severity": "critical", "query": "kind:armed-group NEAR/15 lexicon:threat"}],
        "channels": {
            "slack": f"slack+{web.url}/slack",
            "hook": f"json://127.0.0.1:{port}/hook",
            "mail": f"mailto://alice:${{TOCSIN_TEST_SMTP_PASSWORD}}@127.0.0.1:{smtp.port}?from=tocsin@example.org&to=analyst@example.org&mode=insecure",
        },
    }))
    config = Config(str(path), f"sqlite:///{tmp_path / 'state.db'}")
    hostile = " ".join(INJECTIONS.values())
    story = Article(id="h1", title=f"Kataib Hezbollah threatens {INJECTIONS['mentions']} {INJECTIONS['ansi']}",
                    paragraphs=[f"Kataib Hezbollah issued a threat. {hostile}"], source="http://evil.example|click", url=EVIL_URL)
    process_batch(config, [("feed", "h1", story)])
    report = drain(connect(config.state_url), load_watchlist(config.watchlist))
    assert report.sent == 3 and not report.failed, report
    [(body, payload)] = slack_posts(web)
    assert_slack_inert(body, payload, {EVIL_URL})
    assert payload["attachments"][0]["color"] == messages.SEVERITY_COLOUR["critical"]
    [mail] = smtp.messages
    assert mail["Bcc"] is None and not CONTROL.search(mail["Subject"])


# ---- item 7: secrets in channel URLs --------------------------------------------------------

def test_a_password_with_url_delimiters_reaches_a_real_smtp_server(tmp_path: Path, smtp: SMTPServer, web: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOCSIN_TEST_SMTP_PASSWORD", PASSWORD)
    config = _mail_config(tmp_path, smtp)
    process_batch(config, [("feed", "a1", _story())])
    report = drain(connect(config.state_url), load_watchlist(config.watchlist))
    assert report.sent == 1 and not report.failed, report
    [mail] = smtp.messages
    assert mail["Subject"].startswith("[HIGH] Armed group issues a threat")


def test_a_refused_password_is_redacted_in_every_form_everywhere(
    tmp_path: Path, web: HTTPServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    server = SMTPServer(password="not-the-one")  # authentication fails: apprise's error is what gets stored
    monkeypatch.setenv("TOCSIN_TEST_SMTP_PASSWORD", PASSWORD)
    try:
        config = _mail_config(tmp_path, server)
        process_batch(config, [("feed", "a1", _story())])
        report = drain(connect(config.state_url), load_watchlist(config.watchlist))
    finally:
        server.close()
    assert "mail" in report.failed
    monkeypatch.setenv("TOCSIN_STATE_URL", config.state_url)
    assert main(["alerts", "--watchlist", config.watchlist]) == 0
    table = capsys.readouterr().out
    assert main(["alerts", "--format", "jsonl", "--watchlist", config.watchlist]) == 0
    with connect(config.state_url).begin() as conn:
        stored = json.dumps([list(r) for r in conn.execute(sa.select(deliveries)).all()], default=str)
    seen = caplog.text + table + capsys.readouterr().out + str(report) + stored
    assert "mail: pending (" in table  # the reason is in the table, not only in jsonl
    for form in _forms(PASSWORD):
        assert form not in seen, form


def test_redact_knows_every_form_of_a_secret() -> None:
    url = f"mailto://alice:{quote(PASSWORD, safe='')}@smtp.example:25?to=a@example.org&token=s3cr3t%2Ftoken"
    for form in (_forms(PASSWORD) | _forms("s3cr3t/token")) - {PASSWORD.split("@", 1)[1]}:
        assert "***" in redact(f"failed: {form} at the server", url) and form not in redact(f"failed: {form}.", url)


def test_a_failing_slack_error_names_the_status_not_the_url(web: HTTPServer) -> None:
    web.routes["/slack"] = respond(b"invalid_token", status=403)
    with pytest.raises(DeliveryError) as caught:
        Channel("slack", f"slack+{web.url}/slack?token=tok-0123456789").send([alert("x")])
    assert "HTTP 403" in str(caught.value) and "tok-0123456789" not in str(caught.value) and "127.0.0.1" not in str(caught.value)


def test_no_token_reaches_the_logs_when_slack_and_webhooks_answer_or_fail(web: HTTPServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    token = "T0KEN-4f3e2d1c0b"
    port = web.url.rsplit(":", 1)[1]
    for status in (200, 500):
        web.routes[f"/services/{token}"] = respond(b"x", status=status)
        for url in (f"slack+{web.url}/services/{token}", f"json://127.0.0.1:{port}/services/{token}?+X-Token={token}"):
            try:
                Channel("c", url).send([alert("x")])
            except DeliveryError as exc:
                assert token not in str(exc)
    assert len(web.requests) == 4 and token not in caplog.text


def test_slack_urls_map_to_the_webhook_or_the_bot_api() -> None:
    from flows.deliver.channels import slack_endpoint

    assert slack_endpoint("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ")[0] == "https://hooks.slack.com/services/T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ"
    assert slack_endpoint("https://hooks.slack.com/services/T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ")[0].startswith("https://hooks.slack.com/services/T1JJ3T3L2/")
    endpoint, headers, chans, name = slack_endpoint("slack://tocsin@xoxb-1234-1234-abc124/#alerts")
    assert endpoint == "https://slack.com/api/chat.postMessage" and headers["Authorization"] == "Bearer xoxb-1234-1234-abc124"
    assert chans == ["#alerts"] and name == "tocsin"
    assert slack_endpoint("slack+http://127.0.0.1:9/x") == ("http://127.0.0.1:9/x", {}, [], None)


def _forms(secret: str) -> set[str]:
    return {secret, quote(secret, safe=""), quote_plus(secret), quote(secret), secret.split("@", 1)[-1]}


def _story() -> Article:
    return Article(id="a1", title="Kataib Hezbollah threatens US bases", paragraphs=["Kataib Hezbollah said the bases will be targeted."],
                   source="Wire", url="https://wire.example/1", published=datetime(2026, 11, 23, 10, tzinfo=UTC))


def _mail_config(tmp_path: Path, smtp: SMTPServer) -> Config:
    path = tmp_path / "watchlist.yaml"
    path.write_text(yaml.safe_dump({
        "version": 1,
        "actors": [{"id": "kataib-hezbollah", "name": "Kata'ib Hezbollah", "kind": "armed-group", "aliases": ["Kataib Hezbollah"]}],
        "lexicons": {"threat": ["threat*", "will be targeted"]},
        "rules": [{"id": "threat", "title": "Armed group issues a threat", "severity": "high", "query": "kind:armed-group NEAR/15 lexicon:threat"}],
        "channels": {"mail": f"mailto://alice:${{TOCSIN_TEST_SMTP_PASSWORD}}@127.0.0.1:{smtp.port}?from=tocsin@example.org&to=analyst@example.org&mode=insecure"},
    }))
    return Config(str(path), f"sqlite:///{tmp_path / 'state.db'}")
