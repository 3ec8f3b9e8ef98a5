"""Article pages as tocsin reads them (issue 12): the body, not the page's furniture; every
encoding declaration honoured; and `tocsin extract`.

The pages are written here, each reduced from a shape seen in the article-extraction corpus.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from extractors.feedlist import Feed
from extractors.html import extract_html
from flows.cli import main
from flows.ingest.feeds import poll_feeds_sync
from flows.ingest.fetch import Limits
from flows.store.db import connect
from tests import feeds_fixtures as fx
from tests.feedserver import FeedServer, respond
from tests.feedserver import feed_server  # noqa: F401  (the fixture)

STORY = [
    "Kataib Hezbollah warned on Tuesday that American bases in western Iraq would be treated as targets "
    "if the overnight strikes on its positions near the Syrian border were repeated.",
    "The group's spokesman said in a statement read on its television channel that fighters had been "
    "placed on alert along the highway between al-Qaim and Rutba, and that no further warning would be given.",
    "Officials in Baghdad urged restraint, and the prime minister's office said it had summoned the "
    "commanders of several armed factions to a meeting on Wednesday to discuss the security of the border.",
    "A coalition spokesman declined to comment on the strikes, saying only that its forces retained the "
    "right to defend themselves and that operations against remaining militant cells would continue.",
]


def page(body: str, *, head: str = "", lang: str = "en") -> str:
    return f"<!doctype html><html lang='{lang}'><head><title>Militia warns of attacks on bases</title>{head}</head><body>{body}</body></html>"


def story_in(tag: str = "p", cls: str = "") -> str:
    attr = f" class='{cls}'" if cls else ""
    return "".join(f"<{tag}{attr}>{p}</{tag}>" for p in STORY)


def has_story(paragraphs: list[str]) -> bool:
    return all(any(s[:60] in p for p in paragraphs) for s in STORY)


# --- the body ------------------------------------------------------------------------------


def test_a_reader_comment_in_the_first_article_element_is_not_the_story() -> None:
    html = page("<article class='comment-body'><p>Great post, thanks!</p></article>"
                f"<div class='story'><h1>Militia warns of attacks on bases</h1>{story_in()}</div>")
    a = extract_html(html, id="x")
    assert has_story(a.paragraphs) and "Great post, thanks!" not in a.paragraphs


def test_a_teaser_or_an_empty_first_article_element_is_not_the_story() -> None:
    teaser = "<article class='teaser'><h2><a href='/other'>Floods close the port of Basra</a></h2><p>Read the story.</p></article>"
    for first in (teaser, "<article></article>", "<main></main>"):
        a = extract_html(page(first + f"<div id='content'>{story_in()}</div>"), id="x")
        assert has_story(a.paragraphs), first


def test_story_text_outside_p_elements_is_read() -> None:
    html = page(f"<div class='zn-body__paragraph-wrapper'>{story_in('div', 'zn-body__paragraph')}</div>")
    assert extract_html(html, id="x").paragraphs == STORY


def test_a_page_wide_form_keeps_the_story() -> None:
    html = page(f"<form id='aspnetForm' action='/search' method='post'><div class='wrap'><h1>Militia warns of attacks on bases</h1>{story_in()}</div></form>")
    assert has_story(extract_html(html, id="x").paragraphs)


def test_label_paragraphs_are_not_article_text() -> None:
    labels = [["Advertisement", "Caption"], ["Close", "Share this article"], ["Read more: Floods close the port of Basra"], ["Comments", "12 comments"]]
    body = "".join(f"<p>{story}</p>" + "".join(f"<p>{label}</p>" for label in after) for story, after in zip(STORY, labels))
    html = page(f"<article><h1>Militia warns of attacks on bases</h1>{body}<p>Related: Who are the militias?</p></article>")
    assert extract_html(html, id="x").paragraphs == STORY


def test_title_author_language_and_date_come_from_the_page() -> None:
    head = ("<meta property='og:title' content='Militia warns of attacks on bases'><meta name='author' content='Rana Haddad'>"
            "<meta property='article:published_time' content='2026-11-24T06:30:00+03:00'>")
    a = extract_html(page(f"<article>{story_in()}</article>", head=head, lang="en-GB"), id="x")
    assert (a.title, a.author, a.language) == ("Militia warns of attacks on bases", "Rana Haddad", "en")
    assert a.published is not None and a.published.isoformat() == "2026-11-24T06:30:00+03:00"
    assert extract_html(page(f"<article>{story_in()}</article>", lang="").replace(" lang=''", ""), id="y").language is None


# --- encodings -----------------------------------------------------------------------------

ACCENTED = ["MADRID — Spain’s foreign minister said on Monday that the embassy in Baghdad would stay open despite the threats made against it overnight.",
            "«Nuestro personal está a salvo», dijo el ministro, según la agencia estatal, y añadió que la situación se revisaría cada día."]


def test_the_http_header_charset_is_honoured_through_the_monitor(feed_server: FeedServer, tmp_path: Path) -> None:
    html = page("<article>" + "".join(f"<p>{p}</p>" for p in ACCENTED + STORY) + "</article>", lang="es")
    stale_meta = html.replace("<head>", "<head><meta charset='windows-1252'>")  # a site moved to UTF-8, its template not
    feed_server.routes["/only-header"] = respond(html.encode("windows-1252"), headers={"Content-Type": "text/html; charset=windows-1252"})
    feed_server.routes["/stale-meta"] = respond(stale_meta.encode("utf-8"), headers={"Content-Type": "text/html; charset=utf-8"})
    links = [feed_server.url + p for p in ("/only-header", "/stale-meta")]
    feed_server.routes["/links"] = fx.rss([{"title": f"Item {n}", "guid": f"i{n}", "link": link, "summary": "Short."} for n, link in enumerate(links)])
    feeds = [Feed(id="links", name="Links", url=feed_server.url + "/links", fetch_article=True, allow_private=True)]
    items = poll_feeds_sync(feeds, connect(f"sqlite:///{tmp_path / 'state.db'}"), limits=Limits(total_timeout=5)).items
    assert [i.article.paragraphs[:2] for i in items] == [ACCENTED, ACCENTED]
    assert [i.article.language for i in items] == ["es", "es"]


def test_the_header_charset_wins_over_meta_and_a_bom_over_both() -> None:
    body = "<article>" + "".join(f"<p>{p}</p>" for p in ACCENTED) + "</article>"
    utf8_with_wrong_meta = page(body, head="<meta charset='windows-1252'>").encode("utf-8")
    assert extract_html(utf8_with_wrong_meta, id="x", content_type="text/html; charset=utf-8").paragraphs == ACCENTED
    bom_page = b"\xef\xbb\xbf" + utf8_with_wrong_meta
    assert extract_html(bom_page, id="x", content_type="text/html; charset=iso-8859-1").paragraphs == ACCENTED
    assert extract_html(bom_page, id="x").paragraphs == ACCENTED


@pytest.mark.parametrize(("encoding", "paragraphs"), [
    ("cp1256", ["قالت كتائب حزب الله يوم الثلاثاء إن القواعد الأمريكية في غرب العراق ستعامل كأهداف إذا تكررت الغارات الليلية على مواقعها.",
                "ودعا المسؤولون في بغداد إلى ضبط النفس، وقال مكتب رئيس الوزراء إنه استدعى قادة عدد من الفصائل المسلحة إلى اجتماع يوم الأربعاء."]),
    ("latin-1", ["Le ministère des Affaires étrangères a déclaré lundi que l'ambassade à Bagdad resterait ouverte malgré les menaces reçues.",
                 "« Notre personnel est en sécurité », a précisé le ministre, ajoutant que la situation serait réexaminée chaque jour à Besançon."]),
])
def test_an_undeclared_legacy_encoding_is_detected(encoding: str, paragraphs: list[str]) -> None:
    html = "<html><body><article>" + "".join(f"<p>{p}</p>" for p in paragraphs) + "</article></body></html>"
    assert extract_html(html.encode(encoding), id="x").paragraphs == paragraphs


# --- tocsin extract ------------------------------------------------------------------------


def test_extract_prints_each_article_as_tocsin_reads_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "page.html").write_text(page(f"<article>{story_in()}<p>Advertisement</p></article>"), encoding="utf-8")
    (tmp_path / "seed.txt").write_text("Militia warns\nThe Wire/ First paragraph.\nSecond paragraph.\n", encoding="utf-8")
    (tmp_path / "lines.jsonl").write_text(json.dumps({"id": "j1", "title": "From JSON", "body": "One.\nTwo."}) + "\nnot json\n", encoding="utf-8")
    (tmp_path / "empty.html").write_text("<html><body><script>x()</script></body></html>")
    paths = [str(tmp_path / n) for n in ("page.html", "missing.html", "seed.txt", "empty.html", "lines.jsonl")]
    assert main(["extract", *paths]) == 1
    out, err = capsys.readouterr()
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in rows] == ["page", "seed", "j1"]
    assert rows[0]["paragraphs"] == STORY and rows[0]["language"] == "en" and rows[0]["title"] == "Militia warns of attacks on bases"
    assert set(rows[0]) >= {"id", "title", "published", "author", "language", "paragraphs"}
    assert rows[1]["paragraphs"] == ["First paragraph.", "Second paragraph."] and rows[1]["source"] == "The Wire"
    assert rows[2]["paragraphs"] == ["One.", "Two."]
    errors = err.splitlines()
    assert len(errors) == 3 and all(e.startswith("tocsin: ") for e in errors)
    assert "missing.html" in errors[0] and "empty.html" in errors[1] and "lines.jsonl: line 2" in errors[2]
    assert "Traceback" not in err


def test_extract_a_url_through_the_monitors_fetch_path(feed_server: FeedServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    html = page("<article>" + "".join(f"<p>{p}</p>" for p in ACCENTED + STORY) + "</article>")
    feed_server.routes["/page"] = respond(html.encode("windows-1252", "replace"), headers={"Content-Type": "text/html; charset=windows-1252"})
    url = feed_server.url + "/page"
    assert main(["extract", url]) == 1  # 127.0.0.1 is private: refused, as the monitor refuses it
    assert "refused private address 127.0.0.1" in capsys.readouterr().err
    monkeypatch.setenv("TOCSIN_ALLOW_PRIVATE_ADDRESSES", "1")
    assert main(["extract", "--format", "text", url, feed_server.url + "/gone"]) == 1
    out, err = capsys.readouterr()
    assert ACCENTED[0] in out and "Militia warns of attacks on bases" in out and "language: en" in out
    assert err.strip() == f"tocsin: {feed_server.url}/gone: HTTP 404"
