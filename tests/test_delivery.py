"""Alert delivery end to end: a real SMTP server and a real webhook on 127.0.0.1."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from extractors.article import Article
from extractors.watchlist import load_watchlist
from flows.deliver import messages
from flows.cli import main
from flows.store.db import connect, deliveries
from flows.store.outbox import drain
from flows.pipeline import Config, process_batch
from tests.servers import HTTPServer, SMTPServer, respond

PASSWORD = "hunter2-smtp-secret"
TOKEN = "tok-9f8e7d6c5b4a-secret"
STORY = [
    "Kata'ib Hezbollah said all American bases in Iraq will be targeted if the strikes continue.",
    "The statement was posted on the group's Telegram channel on Monday evening.",
]
HOSTILE_TITLE = "<!channel> *URGENT* <script>alert(1)</script>\r\nBcc: victim@example.org"


@pytest.fixture()
def smtp() -> Iterator[SMTPServer]:
    s = SMTPServer(password=PASSWORD)
    yield s
    s.close()


@pytest.fixture()
def hook() -> Iterator[HTTPServer]:
    s = HTTPServer()
    s.routes["/hook"] = respond(b"ok")
    yield s
    s.close()


def setup(tmp_path: Path, smtp: SMTPServer, hook: HTTPServer, **delivery: object) -> Config:
    doc = {
        "version": 1,
        "actors": [{"id": "kataib-hezbollah", "name": "Kata'ib Hezbollah", "kind": "armed-group", "aliases": ["Kataib Hezbollah"]}],
        "lexicons": {"threat": ["threat*", "will be targeted"]},
        "rules": [
            {"id": "threat", "title": "Armed group issues a threat", "severity": "high", "query": "kind:armed-group NEAR/15 lexicon:threat"},
            {"id": "mention", "title": "Group mentioned", "severity": "info", "query": "kind:armed-group", "notify": ["hook"]},
        ],
        "channels": {
            "mail": f"mailto://alice:{PASSWORD}@127.0.0.1:{smtp.port}?from=tocsin@example.org&to=analyst@example.org&mode=insecure",
            "hook": f"json://127.0.0.1:{hook.url.rsplit(':', 1)[1]}/hook?+X-Token={TOKEN}",
        },
    }
    if delivery:
        doc["delivery"] = delivery
    path = tmp_path / "watchlist.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return Config(str(path), f"sqlite:///{tmp_path / 'state.db'}")


def article(n: int = 1, title: str = "Kataib Hezbollah threatens US bases", url: str | None = None) -> Article:
    return Article(id=f"a{n}", title=title, paragraphs=STORY, source=f"Outlet {n}", url=url or f"https://outlet{n}.example/story",
                   published=datetime(2026, 11, 23, 10, tzinfo=UTC))


def deliver(config: Config, now: datetime | None = None):  # type: ignore[no-untyped-def]
    return drain(connect(config.state_url), load_watchlist(config.watchlist), now=now)


def test_email_and_webhook_receive_the_alert(tmp_path: Path, smtp: SMTPServer, hook: HTTPServer) -> None:
    config = setup(tmp_path, smtp, hook)
    stats = process_batch(config, [("feed-a", "a1", article())])
    assert stats.alerts_by_severity == {"high": 1, "info": 1}
    report = deliver(config)
    assert report.sent == 2 and not report.failed, report
    [mail] = smtp.messages
    assert mail["Subject"] == "[HIGH] Armed group issues a threat: Kataib Hezbollah threatens US bases"
    parts = {p.get_content_type(): p.get_payload(decode=True).decode() for p in mail.walk() if not p.is_multipart()}
    assert "will be targeted<span" in parts["text/html"] and "<mark><b>" in parts["text/html"]
    assert 'href="https://outlet1.example/story"' in parts["text/html"]
    assert "*will be targeted*" in parts["text/plain"]
    [alert] = hook.posted_json("/hook")  # the alert object itself
    assert alert["rule"] == "threat" and alert["evidence"][0]["terms"]
    assert alert["article"]["url"] == "https://outlet1.example/story" and alert["key"].startswith("threat:")
    assert hook.requests[-1][2].get("X-Token") == TOKEN


def test_nothing_new_sends_nothing_and_a_second_outlet_pages_nobody(tmp_path: Path, smtp: SMTPServer, hook: HTTPServer) -> None:
    config = setup(tmp_path, smtp, hook)
    process_batch(config, [("feed-a", "a1", article(1))])
    deliver(config)
    process_batch(config, [("feed-a", "a1", article(1)), ("feed-b", "b1", article(2, title="Iraqi militia warns US forces"))])
    assert deliver(config).sent == 0
    assert len(smtp.messages) == 1 and len(hook.posted_json("/hook")) == 1
    [row] = [r for r in _alerts(tmp_path) if r["rule"] == "threat"]
    assert [o["source"] for o in row["outlets"]] == ["Outlet 1", "Outlet 2"]
    assert "Also reported by: Outlet 2" in messages.plain({**row, "outlets": row["outlets"]})


def _alerts(tmp_path: Path) -> list[dict]:  # type: ignore[type-arg]
    from flows.store.outbox import list_alerts

    return list_alerts(connect(f"sqlite:///{tmp_path / 'state.db'}"))


def test_a_mail_server_down_for_a_while_delays_and_loses_nothing(tmp_path: Path, smtp: SMTPServer, hook: HTTPServer) -> None:
    config = setup(tmp_path, smtp, hook)
    smtp.refuse = 3
    for n in range(3):
        process_batch(config, [(f"feed-{n}", f"x{n}", Article(id=f"s{n}", title=f"Kataib Hezbollah threat number {n}", paragraphs=[f"Distinct story {n} " * 20]))])
    now = datetime.now(UTC)
    for step in range(8):
        report = deliver(config, now + timedelta(hours=step))
        if step == 0:
            assert "mail" in report.failed and PASSWORD not in report.failed["mail"]
            with connect(config.state_url).begin() as conn:  # the failed one backs off; the untried ones are given back
                mail = conn.execute(sa.select(deliveries.c.status, deliveries.c.attempts, deliveries.c.next_attempt_at)
                                    .where(deliveries.c.channel == "mail").order_by(deliveries.c.alert_id)).all()
            assert [(r.status, r.attempts, r.next_attempt_at is None) for r in mail] == [("pending", 1, False), ("pending", 0, True), ("pending", 0, True)]
    subjects = sorted(m["Subject"] for m in smtp.messages)
    assert len(subjects) == 3 and len(set(subjects)) == 3
    with connect(config.state_url).begin() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(deliveries).where(deliveries.c.status != "sent")).scalar() == 0


def test_a_webhook_returning_errors_is_retried_with_backoff(tmp_path: Path, smtp: SMTPServer, hook: HTTPServer) -> None:
    config = setup(tmp_path, smtp, hook)
    hook.routes["/hook"] = respond(b"down", status=503)
    process_batch(config, [("feed-a", "a1", article())])
    now = datetime.now(UTC)
    first = deliver(config, now)
    assert "hook" in first.failed and TOKEN not in first.failed["hook"]
    pages = lambda: [p for p in hook.posted_json("/hook") if p.get("severity") == "high"]  # noqa: E731
    assert len(pages()) == 1
    assert deliver(config, now + timedelta(seconds=1)).sent == 0  # backing off: not retried at once
    assert len(pages()) == 1
    hook.routes["/hook"] = respond(b"ok")
    assert deliver(config, now + timedelta(hours=1)).sent == 1
    assert len(pages()) == 2  # the refused attempt, then the delivery


def test_info_alerts_go_to_a_digest(tmp_path: Path, smtp: SMTPServer, hook: HTTPServer) -> None:
    config = setup(tmp_path, smtp, hook, digest_every="1h")
    process_batch(config, [("feed-a", "a1", article())])
    now = datetime.now(UTC)
    deliver(config, now)
    assert [p["summary"] for p in hook.posted_json("/hook")] == ["[HIGH] Armed group issues a threat: Kataib Hezbollah threatens US bases"]
    deliver(config, now + timedelta(minutes=30))
    assert len(hook.posted_json("/hook")) == 1
    report = deliver(config, now + timedelta(hours=2))
    assert report.digests == 1
    last = hook.posted_json("/hook")[-1]
    assert last["summary"] == "tocsin digest: 1 alert" and last["digest"] and [a["rule"] for a in last["alerts"]] == ["mention"]


def test_cooldown_and_rate_limit_hold_pages_for_the_digest(tmp_path: Path, smtp: SMTPServer, hook: HTTPServer) -> None:
    config = setup(tmp_path, smtp, hook, cooldown="1h", digest=[])
    for n in range(3):
        process_batch(config, [(f"feed-{n}", f"x{n}", Article(id=f"s{n}", title=f"Kataib Hezbollah threat number {n}", paragraphs=[f"Distinct story {n} " * 20]))])
    report = deliver(config)
    assert len(smtp.messages) == 1 and report.held >= 2
    rows = _alerts(tmp_path)
    assert sorted(d["status"] for r in rows for d in r["deliveries"] if d["channel"] == "mail") == ["held", "held", "sent"]


def test_hostile_article_text_arrives_inert(tmp_path: Path, smtp: SMTPServer, hook: HTTPServer) -> None:
    config = setup(tmp_path, smtp, hook)
    process_batch(config, [("feed-a", "a1", article(title="Kataib Hezbollah " + HOSTILE_TITLE, url="javascript:alert(document.cookie)"))])
    deliver(config)
    [mail] = smtp.messages
    assert "\n" not in mail["Subject"] and mail["Bcc"] is None
    html_part = next(p for p in mail.walk() if p.get_content_type() == "text/html").get_payload(decode=True).decode()
    assert "<script>" not in html_part and "&lt;script&gt;" in html_part
    assert 'href="javascript' not in html_part
    [posted] = [p for p in hook.posted_json("/hook") if p["severity"] == "high"]
    assert posted["article"]["title"].endswith("Bcc: victim@example.org")  # data, as recorded: JSON is its escaping


def test_slack_text_is_escaped() -> None:
    alert = {
        "rule": "r", "title": "T *x*", "severity": "high", "actors": ["a"],
        "evidence": [{"text": "<!channel> *bold* said Iran", "start": 0, "end": 27, "terms": [{"text": "Iran", "start": 23, "end": 27}]}],
        "article": {"title": "<@U123> _hi_ & <b>", "url": "javascript:alert(1)", "source": "S"},
        "outlets": [],
    }
    text = json.dumps(messages.slack([alert]), ensure_ascii=False)
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text
    assert "<@U123>" not in text and "&lt;@U123&gt;" in text and "&amp;" in text
    assert "*bold*" not in text and "*Iran*" in text
    assert "javascript:" not in text


def test_no_secret_reaches_logs_errors_the_store_or_tocsin_alerts(
    tmp_path: Path, smtp: SMTPServer, hook: HTTPServer, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.DEBUG)
    config = setup(tmp_path, smtp, hook)
    smtp.refuse = 10
    hook.routes["/hook"] = respond(b"nope", status=500)
    process_batch(config, [("feed-a", "a1", article())])
    report = deliver(config)
    assert set(report.failed) == {"mail", "hook"}
    monkeypatch.setenv("TOCSIN_STATE_URL", config.state_url)
    assert main(["alerts", "--format", "jsonl", "--watchlist", config.watchlist]) == 0
    with connect(config.state_url).begin() as conn:
        stored = json.dumps([list(r) for r in conn.execute(sa.select(deliveries)).all()], default=str)
    seen = caplog.text + capsys.readouterr().out + str(report) + stored
    assert "refused" in stored or "failed" in stored or "HTTP" in stored or "451" in stored
    for secret in (PASSWORD, TOKEN):
        assert secret not in seen
