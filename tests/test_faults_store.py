"""Faults on the store, pipeline and feed side (issue 10): kills, database errors, hostile text,
slow channels, hostile feeds. Real servers on 127.0.0.1, real SQLite and PostgreSQL.

One test per item of the issue; docs/reliability.md says what each one guarantees.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from extractors.feedlist import Feed
from extractors.watchlist import load_watchlist
from flows.ingest.feeds import PollReport, poll_feeds_sync
from flows.ingest.fetch import Limits
from flows.pipeline import Config, polled_batches, process_batch
from flows.store.db import connect
from flows.store.outbox import drain, list_alerts
from tests import feeds_fixtures as fx
from tests.feedserver import FeedServer, conditional, redirect
from tests.feedserver import feed_server  # noqa: F401  (the fixture)
from tests.servers import HTTPServer, respond
from tests.test_db import state_url  # noqa: F401  (the fixture)

ROOT = Path(__file__).resolve().parent.parent
LIMITS = Limits(total_timeout=5.0, read_timeout=5.0)
ETAG = '"v1"'


def threat_items(n: int, start: int = 0) -> list[dict[str, str]]:
    """``n`` distinct threat stories (distinct words, so no two are one story)."""
    return [
        {"title": f"Kataib Hezbollah threatens base number {i}", "guid": f"urn:t{i}",
         "summary": " ".join(f"word{i}x{j}" for j in range(40))}
        for i in range(start, start + n)
    ]


@dataclass
class World:
    """A feed server, a webhook channel, a watch list and a store: one monitor's surroundings."""

    feeds: FeedServer
    hook: HTTPServer
    watchlist: Path
    config: Config

    def feed(self, path: str = "/feed") -> Feed:
        return Feed(id=path.strip("/").replace("/", "-"), name=f"Feed {path}", url=self.feeds.url + path)

    def poll(self, *paths: str) -> PollReport:
        return poll_feeds_sync([self.feed(p) for p in paths or ("/feed",)], connect(self.config.state_url), limits=LIMITS)

    def record(self, report: PollReport) -> None:
        """What the monitor does with a poll: its items in batches, each with its feeds' validators."""
        for pairs, validators in polled_batches(report.items, report.validators, 7):
            process_batch(self.config, pairs, feeds=validators)

    def deliver(self, **kw: Any) -> Any:
        return drain(connect(self.config.state_url), load_watchlist(str(self.watchlist)), **kw)

    def cycle(self, *paths: str) -> PollReport:
        report = self.poll(*paths)
        self.record(report)
        self.deliver()
        return report

    def received(self) -> Counter[str]:
        """Alert key -> how many times it reached the webhook (one POST per alert)."""
        return Counter(p["key"] for p in self.hook.posted_json("/hook") if not p.get("digest"))


def make_world(tmp_path: Path, state_url: str, hook_delay: float = 0, **delivery: Any) -> tuple[FeedServer, HTTPServer, World]:
    feeds, hook = FeedServer(), HTTPServer()
    hook.routes["/hook"] = respond(b"ok", delay=hook_delay)
    watchlist = tmp_path / "watchlist.yaml"
    watchlist.write_text(yaml.safe_dump({
        "version": 1,
        "actors": [{"id": "kataib-hezbollah", "name": "Kataib Hezbollah", "kind": "armed-group"}],
        "lexicons": {"threat": ["threat*"]},
        "rules": [{"id": "threat", "title": "Threat", "severity": "high", "query": "kind:armed-group NEAR/15 lexicon:threat"}],
        "channels": {"hook": f"json://127.0.0.1:{hook.url.rsplit(':', 1)[1]}/hook"},
        **({"delivery": delivery} if delivery else {}),
    }))
    return feeds, hook, World(feeds, hook, watchlist, Config(str(watchlist), state_url))


@pytest.fixture()
def world(tmp_path: Path, state_url: str) -> Iterator[World]:
    """On SQLite and on PostgreSQL."""
    feeds, hook, w = make_world(tmp_path, state_url)
    yield w
    feeds.close()
    hook.close()


@pytest.fixture()
def sqlite_world(tmp_path: Path) -> Iterator[World]:
    feeds, hook, w = make_world(tmp_path, f"sqlite:///{tmp_path / 'state.db'}")
    yield w
    feeds.close()
    hook.close()


def run_child(code: str, *args: str, timeout: float = 120) -> int:
    """Run ``code`` in a fresh Python process (``sys.argv[1:]`` = ``args``); its exit code."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, env=env, timeout=timeout).returncode


# --- item 2: validators advance only with the items they cover -------------------------------

POLL_THEN_DIE = """
import os, signal, sys
from extractors.feedlist import Feed
from flows.ingest.feeds import poll_feeds_sync
from flows.store.db import connect
report = poll_feeds_sync([Feed(id="feed", name="Feed", url=sys.argv[2])], connect(sys.argv[1]))
assert len(report.items) == int(sys.argv[3]), report
os.kill(os.getpid(), signal.SIGKILL)  # polled, nothing recorded yet
"""


def test_kill_after_poll_then_rerun_delivers_every_alert_exactly_once(world: World) -> None:
    world.feeds.routes["/feed"] = conditional(fx.rss(threat_items(30)), etag=ETAG)
    assert run_child(POLL_THEN_DIE, world.config.state_url, world.feeds.url + "/feed", "30") == -signal.SIGKILL
    report = world.cycle()
    assert world.feeds.requests[-1].headers.get("If-None-Match") is None  # fetched afresh, not 304
    assert len(report.items) == 30
    received = world.received()
    assert len(received) == 30 and set(received.values()) == {1}
    again = world.cycle()  # now the validators are stored: 304, nothing new, nothing sent again
    assert world.feeds.requests[-1].headers.get("If-None-Match") == ETAG
    assert [r.status for r in again.results] == ["not-modified"] and world.received() == received


def test_database_full_then_space_freed_loses_nothing(sqlite_world: World) -> None:
    """SQLite's own "database or disk is full" (max_page_count), between the poll and the record."""
    world = sqlite_world
    engine = connect(world.config.state_url)
    world.feeds.routes["/feed"] = conditional(fx.rss(threat_items(30)), etag=ETAG)
    world.feeds.routes["/other"] = conditional(fx.rss(threat_items(5, start=100)), etag=ETAG)
    report = world.poll("/feed", "/other")
    assert len(report.items) == 35
    with engine.begin() as conn:
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar()

    def full(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.execute(f"PRAGMA max_page_count = {pages}")

    sa.event.listen(engine, "connect", full)
    engine.dispose()
    with pytest.raises(sa.exc.OperationalError, match="full"):
        world.record(report)
    sa.event.remove(engine, "connect", full)
    engine.dispose()  # space freed
    world.cycle("/feed", "/other")
    received = world.received()
    assert len(received) == 35 and set(received.values()) == {1}


# --- item 3: text cleaned at the boundary, for every store ------------------------------------

def test_nul_surrogate_and_control_characters_cost_nothing_and_the_rest_is_recorded(world: World) -> None:
    """NUL (which PostgreSQL rejects), a lone surrogate (which no encoder takes) and terminal
    escapes, from a JSON feed's escapes and raw bytes in an RSS feed, next to clean feeds."""
    world.feeds.routes["/json"] = json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "J", "items": [
        {"id": "j1\u0000", "title": "Kataib Hezbollah threat\u0000 with NUL", "content_text": "lone \ud800 surrogate \u001b[31m red"},
        {"id": "j2", "title": "Kataib Hezbollah threatens again", "content_text": "bell \u0007 and C1 \u009b31m"},
    ]}).encode()
    rss = fx.rss(threat_items(1, start=50)).replace(b"base number 50", b"base\x00number\x0b50\x1b]8;;x\x07")
    world.feeds.routes["/rss"] = rss
    world.feeds.routes["/clean"] = fx.rss(threat_items(3, start=60))
    report = world.cycle("/json", "/rss", "/clean")
    assert [r.status for r in report.results] == ["ok", "ok", "ok"]
    with connect(world.config.state_url).begin() as conn:
        rows = conn.execute(sa.text("SELECT identity, title FROM entries ORDER BY id")).all()
    assert len(rows) == 6
    words = {identity: " ".join(title.split()) for identity, title in rows}  # each character removed is a space
    assert words["j1"] == "Kataib Hezbollah threat with NUL"
    assert words["urn:t50"] == "Kataib Hezbollah threatens base number 50 ]8;;x"
    sent = world.hook.posted_json("/hook")
    assert len(sent) == 6
    text = json.dumps(sent, ensure_ascii=False)
    assert not any(c in text for c in "\x00\x07\x1b\x9b\ud800")


# --- item 5: leases from the claim, renewed while a slow channel works ------------------------

def test_two_drains_over_a_slow_channel_longer_than_a_lease_send_each_alert_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A webhook answering in 6 s, a 3 s lease: the first drain holds its claims for 18 s; a
    second drain starting after the first lease period must find nothing to take."""
    import threading
    import time

    from flows.store import outbox

    monkeypatch.setattr(outbox, "LEASE", timedelta(seconds=3))
    feeds, hook, world = make_world(tmp_path, f"sqlite:///{tmp_path / 'state.db'}", hook_delay=6)
    try:
        feeds.routes["/feed"] = fx.rss(threat_items(3))
        world.record(world.poll())
        first = threading.Thread(target=world.deliver)
        first.start()
        deadline = time.monotonic() + 30
        while not hook.requests and time.monotonic() < deadline:
            time.sleep(0.05)
        assert hook.requests, "the first drain never sent"
        time.sleep(outbox.LEASE.total_seconds() + 1)  # past the first lease period, inside the first send
        second = world.deliver()
        first.join(60)
        assert second.sent == 0
        received = world.received()
        assert len(received) == 3 and set(received.values()) == {1}
    finally:
        feeds.close()
        hook.close()


# --- item 6: a digest whose sender died is sent on the next run -------------------------------

DRAIN_LATER = """
import sys
from datetime import UTC, datetime, timedelta
from extractors.watchlist import load_watchlist
from flows.store.db import connect
from flows.store.outbox import drain, list_alerts
drain(connect(sys.argv[2]), load_watchlist(sys.argv[1]), now=datetime.now(UTC) + timedelta(hours=float(sys.argv[3])))
"""


def test_kill_during_digest_then_the_digest_is_sent_on_the_next_run(tmp_path: Path) -> None:
    import time
    from http.server import BaseHTTPRequestHandler

    feeds, hook, world = make_world(tmp_path, f"sqlite:///{tmp_path / 'state.db'}", digest=["high"], digest_every="1h")
    calls = 0

    def first_hangs(req: BaseHTTPRequestHandler) -> None:
        nonlocal calls
        calls += 1
        respond(b"ok", delay=30 if calls == 1 else 0)(req)

    hook.routes["/hook"] = first_hangs
    try:
        feeds.routes["/feed"] = fx.rss(threat_items(3))
        world.record(world.poll())
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        child = subprocess.Popen([sys.executable, "-c", DRAIN_LATER, str(world.watchlist), world.config.state_url, "2"], cwd=ROOT, env=env)
        deadline = time.monotonic() + 60
        while not hook.requests and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert hook.requests, "the digest was never sent"
        child.send_signal(signal.SIGKILL)  # inside the digest's send
        child.wait()
        report = world.deliver(now=datetime.now(UTC) + timedelta(hours=3))  # the next run, the lease long expired
        assert report.digests == 1
        [_, digest] = hook.posted_json("/hook")
        assert digest["digest"] and digest["summary"] == "tocsin digest: 3 alerts"
        assert sorted(a["article"]["title"][-1] for a in digest["alerts"]) == ["0", "1", "2"]
    finally:
        feeds.close()
        hook.close()


# --- item 10: short items merge only when their details agree ---------------------------------

PLACES = ["Erbil", "Syria", "Baghdad", "Basra", "Kirkuk", "Mosul", "Tanf", "Deir ez-Zor", "Ain al-Asad", "Harir"]


def short_item(n: int, place: str, killed: int, extra: str = "") -> dict[str, str]:
    return {"title": f"Kataib Hezbollah threatens more after drone attack on US base in {place}", "guid": f"urn:s{n}",
            "summary": f"A drone attack on the US base in {place}{extra} killed {killed} people on Monday, and "
                       f"Kataib Hezbollah threatened more attacks."}


def test_short_items_about_different_incidents_stay_apart_and_true_copies_join(world: World) -> None:
    """One template, told apart only by the place and the toll (and 100 more of them); a copy
    that only adds a detail (", Iraq") joins its story."""
    world.feeds.routes["/a"] = fx.rss([short_item(0, "Erbil", 3), short_item(1, "Syria", 3)])
    world.feeds.routes["/b"] = fx.rss([short_item(2, "Erbil", 5), short_item(3, "Erbil", 3, extra=", Iraq")])
    world.feeds.routes["/many"] = fx.rss([short_item(10 + n, place, n // len(PLACES) + 10)
                                          for n, place in enumerate(PLACES * 10)])
    world.cycle("/a")
    world.cycle("/b", "/many")  # later polls: the stories are in the store
    sent = world.hook.posted_json("/hook")
    assert len(sent) == 3 + 100  # Erbil 3, Syria 3, Erbil 5; the "Iraq" copy joined Erbil 3; 100 distinct
    with connect(world.config.state_url).begin() as conn:
        story = dict(conn.execute(sa.text("SELECT identity, story_id FROM entries")).all())
    assert story["urn:s3"] == story["urn:s0"]  # the copy
    assert len({story["urn:s0"], story["urn:s1"], story["urn:s2"]}) == 3
    assert len({story[f"urn:s{10 + n}"] for n in range(100)}) == 100


# --- item 12: bounded work per feed, per poll and per story -----------------------------------

def test_caps_per_feed_and_per_poll_hold_the_rest_over_and_outlets_per_alert_are_bounded(
    sqlite_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.ingest import feeds
    from flows.store import outbox

    world = sqlite_world
    monkeypatch.setattr(feeds, "MAX_NEW_PER_FEED", 20)
    monkeypatch.setattr(feeds, "MAX_NEW_PER_POLL", 30)
    world.feeds.routes["/a"] = conditional(fx.rss(threat_items(25)), etag=ETAG)
    world.feeds.routes["/b"] = conditional(fx.rss(threat_items(25, start=100)), etag=ETAG)
    # one story republished under 120 links (an outlet each)
    copy = threat_items(1, start=500)[0]
    world.feeds.routes["/echo"] = fx.rss([{**copy, "guid": f"urn:echo{n}", "link": f"http://echo{n}.example/s"} for n in range(120)])
    first = world.cycle("/a", "/b")
    assert len(first.items) == 30
    held = {r.feed_id: r.held_over for r in first.results}
    assert held == {"a": 5, "b": 15}
    assert all("held over to the next poll" in r.warnings[-1] for r in first.results)
    polls = 1
    while world.cycle("/a", "/b").items:  # the held-over items come with the next polls, then 304
        polls += 1
    assert polls == 2
    received = world.received()
    assert len(received) == 50 and set(received.values()) == {1}
    world.cycle("/echo")
    world.cycle("/echo")
    world.cycle("/echo")
    [echo] = [a for a in list_alerts(connect(world.config.state_url), limit=100) if "base number 500" in a["article"]["title"]]
    assert len(echo["outlets"]) == outbox.MAX_OUTLETS
    with connect(world.config.state_url).begin() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM entries WHERE feed_id = 'echo'")).scalar() == 60  # 3 polls x 20


# --- item 13: hostile configuration and feeds are one-line errors, never tracebacks -----------

ALIAS_BOMB = "\n".join([
    "version: 1",
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
    *(f"{c}: &{c} [{','.join([f'*{p}'] * 9)}]" for p, c in zip("abcdefgh", "bcdefghi")),
    "lexicons: {threat: *i}",
]) + "\n"


def _check(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, doc: dict[str, Any]) -> list[str]:
    from flows.cli import main

    path = tmp_path / f"{name}.yaml"
    base = {"version": 1, "actors": [{"id": "g", "name": "Kataib Hezbollah", "kind": "armed-group"}],
            "lexicons": {"threat": ["threat*"]},
            "rules": [{"id": "r", "title": "R", "severity": "high", "query": "kind:armed-group AND lexicon:threat"}]}
    path.write_text(yaml.safe_dump({**base, **doc}))
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(yaml.safe_dump({"version": 1, "feeds": [{"id": "f", "name": "F", "url": "http://127.0.0.1:9/f"}]}))
    assert main(["check", "--watchlist", str(path), "--feeds", str(feeds)]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines and all(line.startswith(f"tocsin: {path}:") for line in lines), lines
    return lines


def test_hostile_config_feeds_and_store_give_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, feed_server: FeedServer
) -> None:
    import resource

    import markdown_it

    from flows.deliver.messages import md
    from flows.cli import main

    # a 330-byte alias bomb (9^9 values): refused at once, in a process that may not take 4 GB
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(ALIAS_BOMB)
    assert len(ALIAS_BOMB) < 400
    limit = lambda: resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))  # noqa: E731
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "flows.cli", "check", "--watchlist", str(bomb)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, preexec_fn=limit)
    [line] = done.stderr.splitlines()
    assert done.returncode == 2 and re.fullmatch(
        rf"tocsin: {re.escape(str(bomb))}:\d+: more than 1,000,000 values once its aliases are expanded \(an alias bomb\?\)", line)

    deep = "(" * 200 + "threat" + ")" * 200
    [line] = _check(tmp_path, capsys, "deep", {"rules": [{"id": "r", "title": "R", "severity": "high", "query": deep}]})
    assert "nested more than 64 deep at column 65" in line
    [line] = _check(tmp_path, capsys, "nots", {"rules": [{"id": "r", "title": "R", "severity": "high", "query": "NOT " * 2000 + "threat"}]})
    assert "nested more than 64 deep" in line
    [line] = _check(tmp_path, capsys, "alias", {"actors": [{"id": "g", "name": "G", "kind": "armed-group", "aliases": ["x" * 16000]}]})
    assert "a term may be at most 1,000 characters long, not 16,000" in line
    [line] = _check(tmp_path, capsys, "cool", {"delivery": {"cooldown": "99999999999999d"}})
    assert line.endswith("delivery.cooldown: a duration may be at most 366 days: '99999999999999d'")
    for value in (123, ["slack://x"], None):
        [line] = _check(tmp_path, capsys, "channel", {"channels": {"ops": value}})
        assert "channel 'ops': an apprise URL or {prefect_secret: NAME}, not " in line

    # an empty feed body is that feed's failure with a reason, not an AttributeError
    feed_server.routes["/empty"] = b""
    report = poll_feeds_sync([Feed(id="empty", name="E", url=feed_server.url + "/empty")], connect(f"sqlite:///{tmp_path / 's.db'}"), limits=LIMITS)
    assert [(r.status, r.reason) for r in report.results] == [("failed", "not a feed: the response is empty")]

    # an unreachable store: one line, no password
    monkeypatch.setenv("TOCSIN_STATE_URL", "postgresql+psycopg://tocsin:hunter2@127.0.0.1:1/tocsin")
    assert main(["alerts"]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("tocsin: cannot open the state store postgresql+psycopg://tocsin:***@127.0.0.1:1/tocsin: ")
    assert "hunter2" not in line

    # a feed's error text (partly chosen by its server) is shown in the summary, never rendered
    hostile = "redirect to [click](http://evil.example/x) ![i](http://evil.example/i.png) <img src=x> **now** `x`\n# head"
    html = markdown_it.MarkdownIt("commonmark").render(f"- `feed`: failed — {md(hostile)}")
    assert "<a " not in html and "<img" not in html and "<strong>" not in html and "<h1>" not in html
    assert html.count("<code>") == 1 and "[click]" in html


# --- items 8, 9, 11 (fixed on main by the feeds work): held end to end, through store and channel

def test_a_bad_character_reference_costs_one_item_not_the_feeds_alerts(world: World) -> None:
    bad = [{"title": f"Kataib Hezbollah threat number {n} with a bad {ref} reference", "guid": f"urn:bad{n}"}
           for n, ref in enumerate(["&#xD800;", "&#x110000;", "&#99999999999999999999;"])]
    world.feeds.routes["/feed"] = fx.rss([*threat_items(3), *bad])
    report = world.cycle()
    assert [r.status for r in report.results] == ["ok"]
    received = world.received()
    assert len(received) == 6 and set(received.values()) == {1}  # the three good, and the repaired three


def test_items_sharing_the_site_url_as_guid_each_alert(world: World) -> None:
    site = "http://outlet.example/"
    world.feeds.routes["/sloppy"] = fx.rss([{**short_item(n, place, 2), "guid": site, "link": f"{site}{n}"}
                                           for n, place in enumerate(["Erbil", "Syria", "Basra"])])
    world.cycle("/sloppy")
    received = world.received()
    assert len(received) == 3 and set(received.values()) == {1}


def test_a_listed_feed_redirecting_to_the_metadata_address_is_refused_and_the_others_deliver(world: World) -> None:
    import asyncio

    from flows.ingest.feeds import poll_feeds
    from flows.ingest.fetch import Fetcher

    async def resolver(host: str, port: int) -> list[str]:
        return {"feeds.example": ["127.0.0.1"]}[host]  # a public name (127.0.0.1 declared public below)

    world.feeds.routes["/moved"] = redirect("http://169.254.169.254/latest/meta-data/")
    world.feeds.routes["/good"] = fx.rss(threat_items(2))
    port = world.feeds.port
    feeds = [Feed(id="moved", name="M", url=f"http://feeds.example:{port}/moved"),
             Feed(id="good", name="G", url=f"http://feeds.example:{port}/good")]

    async def run() -> PollReport:
        async with Fetcher(LIMITS, resolver=resolver, allowed=frozenset({"127.0.0.1"})) as f:
            return await poll_feeds(feeds, connect(world.config.state_url), fetcher=f)

    report = asyncio.run(run())
    status = {r.feed_id: (r.status, r.reason) for r in report.results}
    assert status["moved"] == ("failed", "refused private address 169.254.169.254")
    world.record(report)
    world.deliver()
    assert len(world.received()) == 2
