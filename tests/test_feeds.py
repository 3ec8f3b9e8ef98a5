"""Feed polling against a real HTTP server on 127.0.0.1: good feeds, hostile feeds, hostile links."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from extractors.feedlist import Feed
from flows.db import connect
from flows.feeds import PollReport, poll_feeds
from flows.fetch import Fetcher, Limits
from tests import feeds_fixtures as fx
from tests.servers import HTTPServer, redirect, respond

LIMITS = Limits(total_timeout=2.0, read_timeout=1.0, max_bytes=1024 * 1024, max_redirects=3)
ARTICLE = b"<html><body><article><h1>Page</h1>" + b"<p>" + b"Iran-backed militias threatened U.S. forces in Iraq. " * 20 + b"</p></article></body></html>"


@pytest.fixture()
def server() -> Iterator[HTTPServer]:
    s = HTTPServer()
    yield s
    s.close()


@pytest.fixture()
def engine(tmp_path: Path):  # type: ignore[no-untyped-def]
    return connect(f"sqlite:///{tmp_path / 'state.db'}")


def poll(feeds: list[Feed], engine, fetcher: Fetcher | None = None) -> PollReport:  # type: ignore[no-untyped-def]
    async def run() -> PollReport:
        async with fetcher or Fetcher(LIMITS) as f:
            return await poll_feeds(feeds, engine, fetcher=f)

    return asyncio.run(run())


def feed(server: HTTPServer, path: str, **kw: object) -> Feed:
    return Feed(id=path.strip("/").replace("/", "-").replace(".", "-") or "root", name=f"Feed {path}", url=server.url + path, **kw)


def result(report: PollReport, feed_id: str):  # type: ignore[no-untyped-def]
    return next(r for r in report.results if r.feed_id == feed_id)


def test_rss_and_atom_entries_become_articles(server: HTTPServer, engine) -> None:  # type: ignore[no-untyped-def]
    server.routes["/rss"] = respond(fx.rss([
        {"title": "Kataib Hezbollah threatens bases", "guid": "urn:g1", "link": "http://example.org/a?utm_source=x", "summary": "&lt;p&gt;First.&lt;/p&gt;&lt;p&gt;Second.&lt;/p&gt;"},
        {"title": "No guid here", "link": "http://Example.org/b#top"},
    ]), headers={"Content-Type": "application/rss+xml"})
    server.routes["/atom"] = respond(fx.atom([{"title": "Houthis claim attack", "id": "urn:1", "link": "http://example.org/c", "summary": "Body text."}]))
    report = poll([feed(server, "/rss"), feed(server, "/atom")], engine)
    assert [r.status for r in report.results] == ["ok", "ok"]
    by_title = {i.article.title: i for i in report.items}
    first = by_title["Kataib Hezbollah threatens bases"]
    assert first.identity == "urn:g1"
    assert first.article.paragraphs == ["First.", "Second."]
    assert first.article.url == "http://example.org/a"
    assert first.article.source == "Feed /rss"
    assert first.article.published is not None and first.article.published.tzinfo is not None
    assert by_title["No guid here"].identity == "http://example.org/b"
    assert by_title["Houthis claim attack"].identity == "urn:1"


def test_second_poll_with_validators_parses_nothing(server: HTTPServer, engine) -> None:  # type: ignore[no-untyped-def]
    body = fx.rss([{"title": "Story", "guid": "s1"}])

    def conditional(req: BaseHTTPRequestHandler) -> None:
        if req.headers.get("If-None-Match") == '"v1"':
            respond(b"", status=304, headers={"ETag": '"v1"'})(req)
        else:
            respond(body, headers={"ETag": '"v1"', "Last-Modified": "Mon, 23 Nov 2026 10:00:00 GMT"})(req)

    server.routes["/feed"] = conditional
    f = feed(server, "/feed")
    first = poll([f], engine)
    assert result(first, f.id).bytes_parsed == len(body) and len(first.items) == 1
    second = poll([f], engine)
    assert result(second, f.id).status == "not-modified"
    assert result(second, f.id).bytes_parsed == 0 and second.items == []
    assert server.requests[-1][2].get("If-None-Match") == '"v1"'


def test_recorded_entries_are_not_new_again(server: HTTPServer, engine) -> None:  # type: ignore[no-untyped-def]
    from extractors.scan import ScanResult
    from flows.entries import Item, record_batch

    server.routes["/feed"] = respond(fx.rss([{"title": "Story one", "guid": "s1"}, {"title": "Story two", "guid": "s2"}]))
    f = feed(server, "/feed")
    report = poll([f], engine)
    empty = lambda a: ScanResult(id=a.id, path=None, title=a.title, source=None, published=None, actors=[], alerts=[])  # noqa: E731
    record_batch(engine, [Item(i.feed_id, i.identity, i.article, empty(i.article)) for i in report.items], channels_for=lambda r: [])
    assert poll([f], engine).items == []


@pytest.mark.parametrize(
    ("route", "reason"),
    [
        ("loop", "too many redirects"),
        ("drip", "timeout after 2 s"),
        ("huge", "response larger than 1 MB"),
        ("bomb", "response larger than 1 MB"),
        ("html", "not a feed (an HTML page)"),
        ("missing", "HTTP 404"),
    ],
)
def test_hostile_feeds_fail_cleanly_with_a_reason(server: HTTPServer, engine, route: str, reason: str) -> None:  # type: ignore[no-untyped-def]
    server.routes["/loop"] = redirect("/loop2")
    server.routes["/loop2"] = redirect("/loop")
    server.routes["/drip"] = respond(fx.drip(seconds=30))
    server.routes["/huge"] = respond(fx.huge(100))
    server.routes["/bomb"] = respond(fx.gzip_bomb(200), headers={"Content-Encoding": "gzip"})
    server.routes["/html"] = respond(b"<!doctype html><html><head><title>Home</title></head><body><p>Hello</p></body></html>", headers={"Content-Type": "text/html"})
    f = feed(server, f"/{route}")
    started = time.monotonic()
    report = poll([f], engine)
    assert time.monotonic() - started < 10
    r = result(report, f.id)
    assert r.status == "failed" and reason in (r.reason or ""), r
    from flows import feedstate

    state = feedstate.load(engine)[f.id]
    assert state.failures == 1 and state.next_attempt_at is not None


def test_a_failing_feed_backs_off_and_the_others_still_poll(server: HTTPServer, engine) -> None:  # type: ignore[no-untyped-def]
    server.routes["/good"] = respond(fx.rss([{"title": "Fine", "guid": "f1"}]))
    bad = Feed(id="bad", name="Bad", url="http://127.0.0.1:9/nothing-listens-here")
    report = poll([bad, feed(server, "/good")], engine)
    assert result(report, "bad").status == "failed" and "cannot connect" in (result(report, "bad").reason or "")
    assert len(report.items) == 1
    again = poll([bad, feed(server, "/good")], engine)
    assert result(again, "bad").status == "backing-off"


def test_entity_expansion_bomb_is_not_expanded(server: HTTPServer, engine) -> None:  # type: ignore[no-untyped-def]
    server.routes["/lol"] = respond(fx.billion_laughs())
    started = time.monotonic()
    report = poll([feed(server, "/lol")], engine)
    assert time.monotonic() - started < 10
    assert all(len(i.article.text) < 100_000 for i in report.items)
    assert result(report, "lol").status in ("ok", "failed")


def test_invalid_xml_keeps_its_good_entries(server: HTTPServer, engine) -> None:  # type: ignore[no-untyped-def]
    good = fx.rss([{"title": "Good one", "guid": "1"}, {"title": "Good two", "guid": "2"}])
    server.routes["/broken"] = respond(good.replace(b"</channel></rss>", b"<item><title>Broken & <unclosed></item>"))
    report = poll([feed(server, "/broken")], engine)
    r = result(report, "broken")
    assert r.status == "ok" and any("malformed feed" in w for w in r.warnings)
    assert {"Good one", "Good two"} <= {i.article.title for i in report.items}


def test_non_utf8_feed_declaring_its_encoding(server: HTTPServer, engine) -> None:  # type: ignore[no-untyped-def]
    server.routes["/arabic"] = respond(fx.rss([{"title": "حزب الله يهدد", "guid": "a1"}], encoding="windows-1256"), headers={"Content-Type": "application/rss+xml"})
    server.routes["/latin"] = respond(fx.rss([{"title": "Téhéran menace", "guid": "l1"}], encoding="iso-8859-1"))
    report = poll([feed(server, "/arabic"), feed(server, "/latin")], engine)
    assert {i.article.title for i in report.items} == {"حزب الله يهدد", "Téhéran menace"}


def _linking_feed(server: HTTPServer, links: list[str]) -> None:
    server.routes["/links"] = respond(fx.rss([{"title": f"Item {n}", "guid": f"i{n}", "link": link, "summary": "Short."} for n, link in enumerate(links)]))


def test_links_to_private_addresses_are_refused(server: HTTPServer, engine) -> None:  # type: ignore[no-untyped-def]
    server.routes["/page"] = respond(ARTICLE)
    _linking_feed(server, [server.url + "/page", "http://10.0.0.1/x", "http://169.254.169.254/latest/meta-data/"])
    report = poll([feed(server, "/links", fetch_article=True)], engine)
    warnings = " ".join(result(report, "links").warnings)
    for address in ("127.0.0.1", "10.0.0.1", "169.254.169.254"):
        assert f"refused non-public address {address}" in warnings
    assert all(i.article.paragraphs == ["Short."] for i in report.items)
    assert [r for r in server.requests if r[1] == "/page"] == []


def test_every_redirect_hop_is_checked(server: HTTPServer, engine) -> None:  # type: ignore[no-untyped-def]
    """A link whose first hop is public (here: loopback declared public) but redirects to a private address."""
    server.routes["/hop"] = redirect("http://10.0.0.1/internal")
    _linking_feed(server, [server.url + "/hop"])
    report = poll([feed(server, "/links", fetch_article=True)], engine, Fetcher(LIMITS, allowed=frozenset({"127.0.0.1"})))
    assert any("refused non-public address 10.0.0.1" in w for w in result(report, "links").warnings)


def test_article_pages_are_fetched_when_allowed(server: HTTPServer, engine) -> None:  # type: ignore[no-untyped-def]
    server.routes["/page"] = respond(ARTICLE, headers={"Content-Type": "text/html"})
    _linking_feed(server, [server.url + "/page"])
    report = poll([feed(server, "/links", fetch_article=True, allow_private=True)], engine)
    [item] = report.items
    assert item.article.title == "Item 0"
    assert "Iran-backed militias threatened" in item.article.paragraphs[0]


def test_unreachable_hosts_fail_fast_without_internet(engine) -> None:  # type: ignore[no-untyped-def]
    f = Feed(id="nowhere", name="Nowhere", url="http://no-such-host.invalid/rss")
    started = time.monotonic()
    report = poll([f], engine)
    assert time.monotonic() - started < 5
    assert "cannot resolve host" in (result(report, "nowhere").reason or "")
