"""Feed polling against a real HTTP server on 127.0.0.1: good feeds, hostile feeds, hostile links."""

from __future__ import annotations

import asyncio
import socket
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from extractors.feedlist import Feed
from flows.store import feedstate
from flows.store.db import connect
from flows.ingest.feeds import PollReport, poll_feeds, poll_feeds_sync
from flows.ingest.fetch import Fetcher, Limits
from tests import feeds_fixtures as fx
from tests.feedserver import FeedServer, conditional, drip, redirect, respond
from tests.feedserver import feed_server  # noqa: F401  (the fixture)

LIMITS = Limits(total_timeout=1.0, read_timeout=0.5, max_bytes=1024 * 1024, max_redirects=3)
ARTICLE = b"<html><body><article><h1>Page</h1><p>" + b"Iran-backed militias threatened U.S. forces in Iraq. " * 20 + b"</p></article></body></html>"


@pytest.fixture()
def engine(tmp_path: Path):  # type: ignore[no-untyped-def]
    return connect(f"sqlite:///{tmp_path / 'state.db'}")


def poll(feeds: list[Feed], engine, fetcher: Fetcher | None = None, now: datetime | None = None) -> PollReport:  # type: ignore[no-untyped-def]
    if fetcher is None:
        return poll_feeds_sync(feeds, engine, limits=LIMITS, now=now)

    async def run() -> PollReport:
        async with fetcher as f:
            return await poll_feeds(feeds, engine, fetcher=f, now=now)

    return asyncio.run(run())


def feed(server: FeedServer, path: str, **kw: object) -> Feed:
    return Feed(id=path.strip("/").replace("/", "-") or "root", name=f"Feed {path}", url=server.url + path, **kw)


def record(engine, report: PollReport) -> None:  # type: ignore[no-untyped-def]
    """Record a poll's items (nothing scanned) with its validators, as the monitor does."""
    from extractors.scan import ScanResult
    from flows.store.entries import Item, record_batch

    empty = lambda a: ScanResult(id=a.id, path=None, title=a.title, source=None, published=None, actors=[], alerts=[])  # noqa: E731
    record_batch(engine, [Item(i.feed_id, i.identity, i.article, empty(i.article)) for i in report.items],
                 channels_for=lambda r: [], feeds=report.validators)


def result(report: PollReport, feed_id: str):  # type: ignore[no-untyped-def]
    return next(r for r in report.results if r.feed_id == feed_id)


def test_rss_and_atom_entries_become_articles(feed_server: FeedServer, engine) -> None:  # type: ignore[no-untyped-def]
    feed_server.routes["/rss"] = respond(fx.rss([
        {"title": "Kataib Hezbollah threatens bases", "guid": "urn:g1", "link": "http://example.org/a?utm_source=x", "summary": "&lt;p&gt;First.&lt;/p&gt;&lt;p&gt;Second.&lt;/p&gt;"},
        {"title": "No guid here", "link": "http://Example.org/b#top"},
    ]), headers={"Content-Type": "application/rss+xml"})
    feed_server.routes["/atom"] = fx.atom([{"title": "Houthis claim attack", "id": "urn:1", "link": "http://example.org/c", "summary": "Body text."}])
    report = poll([feed(feed_server, "/rss"), feed(feed_server, "/atom")], engine)
    assert [(r.status, r.new_items, r.warnings) for r in report.results] == [("ok", 2, []), ("ok", 1, [])]
    by_title = {i.article.title: i for i in report.items}
    first = by_title["Kataib Hezbollah threatens bases"]
    assert first.identity == "urn:g1" and first.feed_id == "rss"
    assert first.article.paragraphs == ["First.", "Second."]
    assert first.article.url == "http://example.org/a"
    assert first.article.source == "Feed /rss"
    assert first.article.published == datetime(2026, 11, 23, 10, tzinfo=UTC)
    assert by_title["No guid here"].identity == "http://example.org/b"
    assert by_title["Houthis claim attack"].identity == "urn:1"
    assert by_title["Houthis claim attack"].article.paragraphs == ["Body text."]
    assert first.article.id != by_title["No guid here"].article.id and len(first.article.id) == 16


def test_an_aggregator_entry_names_its_outlet(feed_server: FeedServer, engine) -> None:  # type: ignore[no-untyped-def]
    feed_server.routes["/agg"] = fx.rss([{"title": "Story", "guid": "1"}]).replace(b"</item>", b'<source url="http://wire.example/rss">The Wire</source></item>')
    [item] = poll([feed(feed_server, "/agg")], engine).items
    assert item.article.source == "The Wire"


def test_second_poll_with_validators_parses_nothing(feed_server: FeedServer, engine) -> None:  # type: ignore[no-untyped-def]
    body = fx.rss([{"title": "Story", "guid": "s1"}])
    feed_server.routes["/feed"] = conditional(body, etag='"v1"', last_modified="Mon, 23 Nov 2026 10:00:00 GMT")
    f = feed(feed_server, "/feed")
    first = poll([f], engine)
    assert result(first, f.id).bytes_parsed == len(body) and len(first.items) == 1
    record(engine, first)  # the validators are stored with the items
    second = poll([f], engine)
    assert result(second, f.id).status == "not-modified"
    assert result(second, f.id).bytes_parsed == 0 and second.items == []
    assert feed_server.requests[-1].headers.get("If-None-Match") == '"v1"'
    assert feed_server.requests[-1].headers.get("If-Modified-Since") == "Mon, 23 Nov 2026 10:00:00 GMT"


def test_recorded_entries_are_not_new_again_and_cost_no_article_fetch(feed_server: FeedServer, engine) -> None:  # type: ignore[no-untyped-def]
    from extractors.scan import ScanResult
    from flows.store.entries import Item, record_batch

    feed_server.routes["/page"] = ARTICLE
    feed_server.routes["/feed"] = fx.rss([{"title": "Story one", "guid": "s1", "link": feed_server.url + "/page"}, {"title": "Story two", "guid": "s2"}])
    f = feed(feed_server, "/feed", fetch_article=True, allow_private=True)
    report = poll([f], engine)
    assert feed_server.hits("/page") == 1
    empty = lambda a: ScanResult(id=a.id, path=None, title=a.title, source=None, published=None, actors=[], alerts=[])  # noqa: E731
    record_batch(engine, [Item(i.feed_id, i.identity, i.article, empty(i.article)) for i in report.items], channels_for=lambda r: [])
    again = poll([f], engine)
    assert again.items == [] and result(again, f.id).new_items == 0
    assert feed_server.hits("/page") == 1


@pytest.mark.parametrize(
    ("route", "reason"),
    [
        ("loop", "too many redirects (3)"),
        ("drip", "timeout after 1s"),
        ("huge", "response larger than 1 MB"),
        ("bomb", "response larger than 1 MB"),
        ("html", "not a feed (an HTML page)"),
        ("xhtml", "not a feed (an HTML page)"),
        ("missing", "HTTP 404"),
    ],
)
def test_hostile_feeds_fail_cleanly_with_a_reason(feed_server: FeedServer, engine, route: str, reason: str) -> None:  # type: ignore[no-untyped-def]
    feed_server.routes.update({
        "/loop": redirect("/loop2"), "/loop2": redirect("/loop"),
        "/drip": drip(every=0.1),
        "/huge": respond(fx.huge(100)),
        "/bomb": respond(fx.gzip_bomb(200), headers={"Content-Encoding": "gzip"}),
        "/html": respond(b"<!doctype html><html><head><title>Home</title></head><body><p>Hello <b>world</p></body></html>", headers={"Content-Type": "text/html"}),
        "/xhtml": b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><head><title>Home</title></head><body><p>Hello</p></body></html>',
    })
    good = feed(feed_server, "/good")
    feed_server.routes["/good"] = fx.rss([{"title": "Fine", "guid": "g"}])
    f = feed(feed_server, f"/{route}")
    started = time.monotonic()
    report = poll([f, good], engine)
    assert time.monotonic() - started < 5
    r = result(report, f.id)
    assert r.status == "failed" and (r.reason or "").startswith(reason), r
    assert [i.article.title for i in report.items] == ["Fine"]
    state = feedstate.load(engine)[f.id]
    assert (state.failures, state.last_error) == (1, r.reason)


def test_a_failing_feed_backs_off_exponentially(feed_server: FeedServer, engine) -> None:  # type: ignore[no-untyped-def]
    bad = Feed(id="bad", name="Bad", url="http://127.0.0.1:9/nothing-listens-here")
    t0 = datetime(2026, 11, 23, 10, tzinfo=UTC)
    first = poll([bad], engine, now=t0)
    assert result(first, "bad").status == "failed" and result(first, "bad").reason == "connection refused"
    assert feedstate.load(engine)["bad"].next_attempt_at == t0 + timedelta(minutes=5)
    skipped = poll([bad], engine, now=t0 + timedelta(minutes=4))
    assert result(skipped, "bad").status == "skipped-backoff" and "last: connection refused" in (result(skipped, "bad").reason or "")
    assert not feedstate.due(engine, "bad", t0 + timedelta(minutes=4)) and feedstate.due(engine, "bad", t0 + timedelta(minutes=5))
    poll([bad], engine, now=t0 + timedelta(minutes=5))
    state = feedstate.load(engine)["bad"]
    assert state.failures == 2 and state.next_attempt_at == t0 + timedelta(minutes=15)
    assert [feedstate.backoff(n) for n in (1, 2, 3, 9, 10, 500)] == [timedelta(minutes=m) for m in (5, 10, 20, 1280, 1440, 1440)]
    feed_server.routes["/nothing-listens-here"] = fx.rss([{"title": "Back", "guid": "b"}])
    recovered = Feed(id="bad", name="Bad", url=feed_server.url + "/nothing-listens-here")
    assert poll([recovered], engine, now=t0 + timedelta(hours=1)).items[0].article.title == "Back"
    state = feedstate.load(engine)["bad"]
    assert (state.failures, state.last_error, state.next_attempt_at) == (0, None, None)


def test_entity_expansion_bomb_is_not_expanded(feed_server: FeedServer, engine) -> None:  # type: ignore[no-untyped-def]
    feed_server.routes["/lol"] = fx.billion_laughs()
    started = time.monotonic()
    report = poll([feed(feed_server, "/lol")], engine)
    assert time.monotonic() - started < 5
    r = result(report, "lol")
    assert r.status == "ok" and any("amplification" in w for w in r.warnings)
    assert [i.article.title for i in report.items] == ["&lol9;"]


def test_external_entities_are_never_fetched(feed_server: FeedServer, engine) -> None:  # type: ignore[no-untyped-def]
    feed_server.routes["/xxe"] = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY ext SYSTEM "{feed_server.url}/secret">]>'
        '<rss version="2.0"><channel><title>X</title><item><title>T &ext;</title><guid>x1</guid></item></channel></rss>'
    ).encode()
    report = poll([feed(feed_server, "/xxe")], engine)
    assert len(report.items) == 1 and feed_server.hits("/secret") == 0


def test_invalid_xml_keeps_its_good_entries(feed_server: FeedServer, engine) -> None:  # type: ignore[no-untyped-def]
    good = fx.rss([{"title": "Good one", "guid": "1"}, {"title": "Good two", "guid": "2"}])
    feed_server.routes["/broken"] = good.replace(b"</channel></rss>", b"<item><title>Broken & <unclosed></item>")
    report = poll([feed(feed_server, "/broken")], engine)
    r = result(report, "broken")
    assert r.status == "ok" and any(w.startswith("malformed feed, good entries kept") for w in r.warnings)
    assert {"Good one", "Good two"} <= {i.article.title for i in report.items}


def test_non_utf8_feeds_declaring_their_encoding(feed_server: FeedServer, engine) -> None:  # type: ignore[no-untyped-def]
    feed_server.routes["/arabic"] = respond(fx.rss([{"title": "حزب الله يهدد", "guid": "a1"}], encoding="windows-1256"), headers={"Content-Type": "application/rss+xml"})
    feed_server.routes["/latin"] = fx.rss([{"title": "Téhéran menace", "guid": "l1"}], encoding="iso-8859-1")
    report = poll([feed(feed_server, "/arabic"), feed(feed_server, "/latin")], engine)
    assert {i.article.title for i in report.items} == {"حزب الله يهدد", "Téhéran menace"}


def _linking_feed(server: FeedServer, links: list[str]) -> None:
    server.routes["/links"] = fx.rss([{"title": f"Item {n}", "guid": f"i{n}", "link": link, "summary": "Short."} for n, link in enumerate(links)])


def test_links_to_private_addresses_are_refused(feed_server: FeedServer, engine) -> None:  # type: ignore[no-untyped-def]
    feed_server.routes["/page"] = ARTICLE
    _linking_feed(feed_server, [feed_server.url + "/page", "http://10.0.0.1/x", "http://169.254.169.254/latest/meta-data/"])
    report = poll([feed(feed_server, "/links", fetch_article=True)], engine)
    r = result(report, "links")
    assert r.status == "ok" and len(report.items) == 3
    warnings = " ".join(r.warnings)
    for address in ("127.0.0.1", "10.0.0.1", "169.254.169.254"):
        assert f"refused private address {address}" in warnings
    assert all(i.article.paragraphs == ["Short."] for i in report.items)
    assert feed_server.hits("/page") == 0


def test_a_public_name_redirecting_to_a_private_address_is_refused(feed_server: FeedServer, engine) -> None:  # type: ignore[no-untyped-def]
    async def resolver(host: str, port: int) -> list[str]:
        return {"news.example": ["127.0.0.1"]}[host]  # 127.0.0.1 declared public below

    feed_server.routes["/hop"] = redirect("http://10.0.0.1/internal")
    _linking_feed(feed_server, [f"http://news.example:{feed_server.port}/hop"])
    report = poll([feed(feed_server, "/links", fetch_article=True)], engine, Fetcher(LIMITS, resolver=resolver, allowed=frozenset({"127.0.0.1"})))
    assert feed_server.hits("/hop") == 1
    assert any("refused private address 10.0.0.1" in w for w in result(report, "links").warnings)
    assert report.items[0].article.paragraphs == ["Short."]


def test_article_pages_are_fetched_when_allowed(feed_server: FeedServer, engine, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    feed_server.routes["/page"] = respond(ARTICLE, headers={"Content-Type": "text/html"})
    _linking_feed(feed_server, [feed_server.url + "/page"])
    [item] = poll([feed(feed_server, "/links", fetch_article=True, allow_private=True)], engine).items
    assert item.article.title == "Item 0"
    assert "Iran-backed militias threatened" in item.article.paragraphs[0]
    monkeypatch.setenv("TOCSIN_ALLOW_PRIVATE_ADDRESSES", "1")
    [item] = poll([feed(feed_server, "/links", fetch_article=True)], engine).items
    assert "Iran-backed militias threatened" in item.article.paragraphs[0]


def test_unreachable_hosts_fail_fast_without_internet(engine) -> None:  # type: ignore[no-untyped-def]
    f = Feed(id="nowhere", name="Nowhere", url="http://no-such-host.invalid/rss")
    started = time.monotonic()
    report = poll([f], engine)
    assert time.monotonic() - started < 5
    assert result(report, "nowhere").reason == "cannot resolve host"


def test_the_default_feed_list_fails_cleanly_offline(engine) -> None:  # type: ignore[no-untyped-def]
    from extractors.feedlist import load_feeds
    from tests.helpers import ROOT

    feeds = load_feeds(ROOT / "deployments" / "feeds.yaml").feeds
    try:
        socket.getaddrinfo(urlsplit(feeds[0].url).hostname, 443)
        pytest.skip("this machine resolves the outlets' names: never poll them from a test")
    except OSError:
        pass
    started = time.monotonic()
    report = poll(feeds, engine)
    assert time.monotonic() - started < 10
    assert len(report.results) == len(feeds) and report.items == []
    assert {r.status for r in report.results} == {"failed"}
    assert all(r.reason for r in report.results)
