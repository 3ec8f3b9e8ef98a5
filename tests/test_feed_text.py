"""Feed entries read whole and as clean text (issue 10 items 8, 9, 11; issue 12 feeds), through
the real poll path against a feed server on 127.0.0.1."""

from __future__ import annotations

import html
import json
import re

import pytest

from extractors.feedtext import fragment_paragraphs
from flows.ingest.fetch import Fetcher
from tests import feeds_fixtures as fx
from tests.feedserver import FeedServer, redirect, respond
from tests.feedserver import feed_server  # noqa: F401  (the fixture)
from tests.helpers import ROOT
from tests.test_feeds import LIMITS, engine, feed, poll, result  # noqa: F401  (engine is a fixture)

CORPUS = ROOT.parent / "shared" / "corpora" / "feeds"
GOOD = [{"title": "Kataib Hezbollah threatens bases", "guid": "g1"}, {"title": "Houthis claim drone attack", "guid": "g2"}]


def _titles(report) -> set[str]:  # type: ignore[no-untyped-def]
    return {i.article.title for i in report.items}


@pytest.mark.parametrize("ref", ["&#xD800;", "&#x110000;", "&#99999999999999999999;", "&#0;"])
def test_one_bad_character_reference_costs_a_warning_not_the_feed(feed_server: FeedServer, engine, ref: str) -> None:  # type: ignore[no-untyped-def]
    feed_server.routes["/refs"] = fx.rss([*GOOD, {"title": f"Bad {ref} title", "guid": "g3"}])
    report = poll([feed(feed_server, "/refs")], engine)
    r = result(report, "refs")
    assert r.status == "ok", r
    assert _titles(report) == {GOOD[0]["title"], GOOD[1]["title"], "Bad \ufffd title"}
    assert r.warnings == ["1 invalid character reference replaced by U+FFFD"]


def test_one_date_out_of_range_costs_a_warning_not_the_feed(feed_server: FeedServer, engine) -> None:  # type: ignore[no-untyped-def]
    body = fx.atom([{"title": "Far future", "id": "urn:f"}, {"title": "Today", "id": "urn:t"}])
    feed_server.routes["/dates"] = body.replace(b"<updated>2026-11-23T10:00:00Z</updated><content", b"<updated>9999-12-31T23:59:59-12:00</updated><content", 1)
    report = poll([feed(feed_server, "/dates")], engine)
    r = result(report, "dates")
    assert r.status == "ok" and _titles(report) == {"Far future", "Today"}
    assert r.warnings == ["entry 'urn:f': date ignored (year 10000 is out of range)"]
    assert {i.article.title: i.article.published is None for i in report.items} == {"Far future": True, "Today": False}


def test_items_sharing_a_guid_are_all_kept_and_reported(feed_server: FeedServer, engine) -> None:  # type: ignore[no-untyped-def]
    site = "http://outlet.example/"
    feed_server.routes["/sloppy"] = fx.rss([
        {"title": "Drone attack on US base in Erbil", "guid": site, "link": "http://outlet.example/1"},
        {"title": "Drone attack on US base in Syria", "guid": site, "link": "http://outlet.example/2"},
        {"title": "Kataib Hezbollah vows revenge", "guid": site, "link": "http://outlet.example/3"},
    ])
    feed_server.routes["/nolinks"] = fx.rss([{"title": "One", "guid": "urn:same"}, {"title": "Two", "guid": "urn:same"}, {"title": "Two", "guid": "urn:same"}])
    report = poll([feed(feed_server, "/sloppy"), feed(feed_server, "/nolinks")], engine)
    sloppy = [i for i in report.items if i.feed_id == "sloppy"]
    assert len(sloppy) == 3 and len({i.identity for i in sloppy}) == 3 and len({i.article.id for i in sloppy}) == 3
    assert {i.identity for i in sloppy} == {f"{site} http://outlet.example/{n}" for n in (1, 2, 3)}
    assert result(report, "sloppy").warnings == [f"3 entries share the id {site!r}: told apart by their links"]
    assert sorted(i.article.title for i in report.items if i.feed_id == "nolinks") == ["One", "Two"]
    assert result(report, "nolinks").warnings == ["3 entries share the id 'urn:same': 1 exact duplicate dropped"]


def test_a_listed_public_feed_cannot_redirect_to_a_private_address(feed_server: FeedServer, engine) -> None:  # type: ignore[no-untyped-def]
    async def resolver(host: str, port: int) -> list[str]:
        return {"feeds.example": ["127.0.0.1"], "localhost": ["127.0.0.2"]}[host]  # 127.0.0.1 declared public below

    feed_server.routes["/moved"] = redirect(f"http://localhost:{feed_server.port}/secret")
    feed_server.routes["/secret"] = fx.rss([{"title": "Internal", "guid": "s"}])
    listed = feed(feed_server, "/moved").model_copy(update={"url": f"http://feeds.example:{feed_server.port}/moved"})
    report = poll([listed], engine, Fetcher(LIMITS, resolver=resolver, allowed=frozenset({"127.0.0.1"})))
    r = result(report, "moved")
    assert r.status == "failed" and r.reason == "refused private address 127.0.0.2 (for localhost)"
    assert feed_server.hits("/moved") == 1 and feed_server.hits("/secret") == 0


def test_a_listed_private_feed_may_redirect_within_the_private_network(feed_server: FeedServer, engine) -> None:  # type: ignore[no-untyped-def]
    feed_server.routes["/old"] = redirect(f"http://localhost:{feed_server.port}/new")
    feed_server.routes["/new"] = fx.rss([{"title": "Intranet story", "guid": "i"}])
    assert _titles(poll([feed(feed_server, "/old")], engine)) == {"Intranet story"}


def test_undeclared_legacy_encodings_are_detected(feed_server: FeedServer, engine) -> None:  # type: ignore[no-untyped-def]
    """feedparser's own test feeds in legacy encodings with no declaration, 7 with an entry: each
    entry's text is the file's text decoded in the encoding the file names."""
    folder = CORPUS / "feedparser" / "tests" / "illformed" / "chardet"
    if not folder.is_dir():
        pytest.skip("the feed corpus is not beside the repository")
    decoded = {}
    for path in sorted(folder.glob("*.xml")):
        body = path.read_bytes()
        codec = re.search(rb"encoding == '([^']+)'", body).group(1).decode()  # type: ignore[union-attr]
        feed_server.routes[f"/{path.stem}"] = body
        decoded[path.stem] = " ".join(html.unescape(html.unescape(body.decode(codec))).split())
    report = poll([feed(feed_server, f"/{name}") for name in decoded], engine)
    by_feed = {i.feed_id: i.article for i in report.items}
    assert sorted(by_feed) == ["eucjp", "euckr", "gb2312", "koi8r", "shiftjis", "tis620", "windows1255"]
    for name, article in by_feed.items():
        assert len(article.text) > 10 and all(part in decoded[name] for part in (article.title, *article.paragraphs)), name


def test_html_titles_become_text(feed_server: FeedServer, engine) -> None:  # type: ignore[no-untyped-def]
    feed_server.routes["/alerts"] = fx.atom([{"title": "Kata&amp;#8217;ib Hezbollah &amp;amp; &lt;b&gt;Iran&lt;/b&gt;", "id": "a1"}]).replace(
        b"<title>Kata", b'<title type="html">Kata')
    feed_server.routes["/plain"] = fx.atom([{"title": "Rockets &amp;lt;not markup&amp;gt; fired", "id": "p1"}]).replace(
        b"<title>Rockets", b'<title type="text">Rockets')
    report = poll([feed(feed_server, "/alerts"), feed(feed_server, "/plain")], engine)
    assert _titles(report) == {"Kata\u2019ib Hezbollah & Iran", "Rockets &lt;not markup&gt; fired"}


def test_google_alerts_titles_from_the_corpus(feed_server: FeedServer, engine) -> None:  # type: ignore[no-untyped-def]
    path = CORPUS / "feedjira" / "spec" / "sample_feeds" / "google_alerts_atom.xml"
    if not path.exists():
        pytest.skip("the feed corpus is not beside the repository")
    feed_server.routes["/ga"] = path.read_bytes()
    titles = _titles(poll([feed(feed_server, "/ga")], engine))
    assert len(titles) == 20 and "Slack Stock Has a Compelling Story and the Numbers to Back It Up" in titles
    assert not any("<" in t or "&" in t for t in titles)


def test_paragraphs_follow_blocks_not_source_lines() -> None:
    assert fragment_paragraphs("<p>Kataib\nHezbollah said …</p>") == ["Kataib Hezbollah said …"]
    assert fragment_paragraphs("Kataib\nHezbollah said<br>Second line<ul><li>one</li><li>two</li></ul>tail") == [
        "Kataib Hezbollah said", "Second line", "one", "two", "tail"]
    assert fragment_paragraphs("<div>" * 5000 + "<p>Deep &amp; nested.</p>" + "</div>" * 5000) == ["Deep & nested."]
    assert fragment_paragraphs("<p>a<script>alert(1)</script>b</p><style>p{}</style><pre>x = 1\ny = 2</pre>") == ["ab", "x = 1", "y = 2"]


def test_wrapped_summary_lines_reach_the_scanner_whole(feed_server: FeedServer, engine) -> None:  # type: ignore[no-untyped-def]
    summary = "&lt;p&gt;Kataib\nHezbollah said American bases\nwill be targeted.&lt;/p&gt;&lt;p&gt;Second.&lt;/p&gt;"
    feed_server.routes["/wrap"] = fx.rss([{"title": "T", "guid": "w", "summary": summary}])
    [item] = poll([feed(feed_server, "/wrap")], engine).items
    assert item.article.paragraphs == ["Kataib Hezbollah said American bases will be targeted.", "Second."]


def test_an_untitled_entry_is_scanned_whole_and_labelled(feed_server: FeedServer, engine) -> None:  # type: ignore[no-untyped-def]
    toot = "Breaking: " + "Kataib Hezbollah said on Monday that American bases in the region will be targeted. " * 3
    feed_server.routes["/toots"] = fx.rss([{"title": "", "guid": "t1", "summary": f"&lt;p&gt;{toot}&lt;/p&gt;&lt;p&gt;#Iraq&lt;/p&gt;"}])
    [item] = poll([feed(feed_server, "/toots")], engine).items
    a = item.article
    assert a.title == "" and a.paragraphs == [toot.strip(), "#Iraq"]
    assert a.headline.startswith("Breaking: Kataib Hezbollah said") and len(a.headline) <= 121 and a.headline.endswith("…")


def test_json_feed_1_0_and_1_1_are_read(feed_server: FeedServer, engine) -> None:  # type: ignore[no-untyped-def]
    v11 = {
        "version": "https://jsonfeed.org/version/1.1", "title": "Wire",
        "items": [
            {"id": "1", "url": "https://wire.example/1", "title": "Kataib Hezbollah &amp; allies", "content_html": "<p>First\nparagraph.</p><p>Second.</p>",
             "date_published": "2026-11-23T10:00:00Z"},
            {"id": 2, "content_text": "An untitled note.\n\nWith two paragraphs.", "date_published": "9999-12-31T23:59:59-12:00"},
            {"id": "3", "title": ["not", "a", "string"]},
            "not an item",
        ],
    }
    feed_server.routes["/v11"] = respond(json.dumps(v11).encode(), headers={"Content-Type": "application/feed+json"})
    example = CORPUS / "feedparser" / "tests" / "json" / "example.json"
    feed_server.routes["/v10"] = example.read_bytes() if example.exists() else json.dumps({"version": "https://jsonfeed.org/version/1", "items": [{"id": "x", "content_text": "a"}, {"id": "y", "content_text": "b"}]}).encode()
    feed_server.routes["/notjson"] = b'{"version": "something else", "items": []}'
    report = poll([feed(feed_server, "/v11"), feed(feed_server, "/v10"), feed(feed_server, "/notjson")], engine)
    by_id = {i.identity: i.article for i in report.items if i.feed_id == "v11"}
    assert by_id["1"].title == "Kataib Hezbollah &amp; allies" and by_id["1"].paragraphs == ["First paragraph.", "Second."]
    assert by_id["1"].url == "https://wire.example/1" and by_id["1"].published is not None and by_id["1"].source == "Feed /v11"
    assert by_id["2"].title == "" and by_id["2"].paragraphs == ["An untitled note.", "With two paragraphs."] and by_id["2"].published is None
    warnings = result(report, "v11").warnings
    assert len(warnings) == 3 and warnings[0].startswith("entry '2': date") and warnings[1].startswith("item 3 skipped")
    assert result(report, "v11").status == "ok" and len([i for i in report.items if i.feed_id == "v10"]) == 2
    assert result(report, "notjson").status == "failed" and result(report, "notjson").reason == "not a JSON Feed (no jsonfeed.org version)"
