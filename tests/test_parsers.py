"""Article parsing: the seed format, HTML pages, sentence splitting, and files on disk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from extractors.errors import ArticleError
from extractors.feedtext import fragment_paragraphs
from extractors.html import extract_html
from extractors.seed import parse_seed
from extractors.segment import sentence_spans
from flows.ingest.articles import iter_article_paths, iter_articles
from tests.helpers import SEED


def sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text)]


# --- seed format (spec §5) -------------------------------------------------------------------


def test_seed_title_outlet_body_and_disclaimer() -> None:
    a = parse_seed(SEED.read_text(), id="000", path="seeds/000.txt")
    assert a.title == "Iranian-Backed forces in Iraq escalate threats as regional tensions rise"
    assert a.source == "Shafaq News"
    assert a.paragraphs[0].startswith("Iranian-backed military forces in Iraq")
    assert len(a.paragraphs) == 8
    assert a.metadata["disclaimer"].startswith("Disclaimer: The views")
    assert not any(p.startswith("Disclaimer:") for p in a.paragraphs)


def test_seed_without_outlet_and_a_slash_later_in_the_line() -> None:
    a = parse_seed("\n\n  Title here  \nThe group and/or its allies said so.\n\nSecond paragraph.\n", id="x")
    assert (a.title, a.source, a.paragraphs) == ("Title here", None, ["The group and/or its allies said so.", "Second paragraph."])


def test_empty_seed_is_an_error() -> None:
    with pytest.raises(ArticleError, match="empty article"):
        parse_seed(" \n\n\t\n", id="x")


# --- sentences -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Three U.S. service members died. Iran denied it.", ["Three U.S. service members died.", "Iran denied it."]),
        ("The U.S. Army said so. Then it left.", ["The U.S. Army said so.", "Then it left."]),
        ("Pressure on the U.S. The militia said so.", ["Pressure on the U.S.", "The militia said so."]),
        ("Dr. Smith met Gen. Jones on Jan. 5. They talked.", ["Dr. Smith met Gen. Jones on Jan. 5.", "They talked."]),
        ("Qais K. Khazali spoke. Others did not.", ["Qais K. Khazali spoke.", "Others did not."]),
        ("Prices rose 3.5 percent. Next.", ["Prices rose 3.5 percent.", "Next."]),
        ('He said "we will strike." Then he left.', ['He said "we will strike."', "Then he left."]),
        ("Is it war? Nobody knows! Maybe.", ["Is it war?", "Nobody knows!", "Maybe."]),
        ("First line\nSecond line", ["First line", "Second line"]),
        ("It ended.\nGen. Smith spoke. Then Dr. Jones did.", ["It ended.", "Gen. Smith spoke.", "Then Dr. Jones did."]),
        ("  Spaced out.   Twice.  \n\n  Again. ", ["Spaced out.", "Twice.", "Again."]),
    ],
)
def test_sentence_boundaries(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


def test_seed_sentence_with_the_threat_is_one_sentence() -> None:
    text = parse_seed(SEED.read_text(), id="x").text
    found = [s for s in sentences(text) if "will be targeted" in s]
    assert found == [
        "However, the Iraqi Resistance Coordination Council has now announced that all American interests in Iraq "
        "and elsewhere in the region will be targeted if the Zionist regime attacks Lebanon,\" JP quoted Iranian state news IRNA."
    ]


# --- HTML ------------------------------------------------------------------------------------

PAGE = """<!doctype html><html><head>
<title>Militia threatens bases | The Wire</title>
<meta property="og:site_name" content="The Wire">
<meta property="article:published_time" content="2026-11-23T10:00:00Z">
<script>var tracking = "<p>not text</p>";</script>
</head><body>
<nav><p>Home | World | Politics | Sport | Business | Opinion | More</p></nav>
<article><h1>Militia threatens bases</h1>
<p>Kata'ib Hezbollah said American bases   will be targeted.</p>
<p>Officials in Baghdad urged restraint on Monday.</p>
<script>alert(1)</script>
</article>
<footer><p>Copyright The Wire, all rights reserved, do not reproduce.</p></footer>
</body></html>"""


def test_html_title_body_date_and_outlet() -> None:
    a = extract_html(PAGE, id="p", url="https://wire.example/a")
    assert a.title == "Militia threatens bases"
    assert a.paragraphs == ["Kata'ib Hezbollah said American bases will be targeted.", "Officials in Baghdad urged restraint on Monday."]
    assert a.source == "The Wire"
    assert a.published is not None and a.published.isoformat() == "2026-11-23T10:00:00+00:00"


def test_html_fallbacks_for_outlet_and_date() -> None:
    page = ("<html><head><script type='application/ld+json'>"
            + json.dumps({"@type": "NewsArticle", "datePublished": "2026-11-20T08:00:00+03:00", "publisher": {"name": "LD Wire"}})
            + "</script></head><body><main><h1>T</h1><p>Body text that is long enough to count as a paragraph.</p></main></body></html>")
    a = extract_html(page, id="p")
    assert a.source == "LD Wire" and a.published is not None and a.published.utcoffset().total_seconds() == 3 * 3600
    b = extract_html("<html><body><p>Only a paragraph of body text here.</p></body></html>", id="q", url="https://news.example/x")
    assert b.source == "news.example" and b.published is None


def test_hostile_html_does_not_crash_or_hang() -> None:
    deep = "<div>" * 10_000 + "<p>Deep text inside many divs.</p>" + "</div>" * 10_000
    assert extract_html(deep, id="d").paragraphs == ["Deep text inside many divs."]
    assert extract_html(b"<p>NUL\x00 byte and text.</p>", id="n").paragraphs == ["NUL byte and text."]
    big_attr = '<p title="' + "x" * 1_000_000 + '">Text with a huge attribute.</p>'
    assert extract_html(big_attr, id="b").paragraphs == ["Text with a huge attribute."]


def test_html_bytes_honour_the_declared_charset() -> None:
    page = '<html><head><meta charset="windows-1256"></head><body><p>حزب الله</p></body></html>'.encode("windows-1256")
    assert extract_html(page, id="ar").paragraphs == ["حزب الله"]


def test_a_page_without_text_is_an_error() -> None:
    with pytest.raises(ArticleError, match="no article text"):
        extract_html("<html><body><script>x()</script></body></html>", id="e")


def test_feed_summary_fragments() -> None:
    assert fragment_paragraphs("<p>One &amp; two.</p><p>Three<br>four</p><script>x</script>") == ["One & two.", "Three", "four"]


# --- files -----------------------------------------------------------------------------------


def test_directories_recursive_sorted_hidden_and_other_files_skipped(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "2.txt").write_text("Second\nBody.")
    (tmp_path / "1.txt").write_text("First\nBody.")
    (tmp_path / ".hidden.txt").write_text("Hidden\nBody.")
    (tmp_path / "notes.md").write_text("# not an article")
    (tmp_path / "page.html").write_text(PAGE)
    found = [(p.name, getattr(a, "title", None)) for p, a in iter_articles([tmp_path])]
    assert found == [("1.txt", "First"), ("2.txt", "Second"), ("page.html", "Militia threatens bases")]


def test_directory_order_is_the_order_of_the_sorted_paths(tmp_path: Path) -> None:
    names = ["a.txt", "a/z.txt", "a.b/x.txt", "B.txt", "b/c/d.txt", "b/c.txt", "b.txt", "b0/e.txt", ".git/x.txt", "a/.h/y.txt", "x.TXT"]
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("Title\nBody.")
    (tmp_path / "link").symlink_to(tmp_path / "b", target_is_directory=True)  # not followed, as rglob does not
    expected = sorted(p for p in tmp_path.rglob("*") if p.is_file() and not any(x.startswith(".") for x in p.relative_to(tmp_path).parts))
    assert list(iter_article_paths([tmp_path])) == expected
    assert len(expected) == 9


def test_jsonl_streams_articles_and_reports_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "batch.jsonl"
    path.write_text("\n".join([
        json.dumps({"id": "a", "title": "One", "body": "Para one.\nPara two.", "source": "S", "published": "2026-11-01T00:00:00+00:00"}),
        "{not json",
        json.dumps({"title": "Two", "paragraphs": ["Only."]}),
        json.dumps({"id": "c"}),
    ]))
    results = list(iter_articles([path]))
    assert [getattr(a, "id", None) for _, a in results] == ["a", None, "batch-3", None]
    assert results[0][1].paragraphs == ["Para one.", "Para two."]  # type: ignore[union-attr]
    assert str(results[1][1]).startswith("line 2:") and str(results[3][1]) == "line 4: no title and no body"
