"""Feed text as clean text: HTML and plain-text values to paragraphs and one-line titles.

Feed entries carry their text with a declared type (Atom ``type="html"``, RSS's
escaped HTML, JSON Feed's ``content_html`` / ``content_text``). HTML becomes text
by its block structure: a paragraph ends where a block element (``<p>``,
``<div>``, ``<li>``, ``<br>``, …) does, never at a line break in the source, and
entities are decoded once. ``BlockText`` does it as an lxml parser target, so page
extraction can share it.
"""

from __future__ import annotations

import re

from lxml import etree

HTML_TYPES = ("text/html", "application/xhtml+xml", "html", "xhtml")
LABEL_CHARS = 120

_BLOCKS = frozenset(
    "address article aside blockquote br caption dd details dialog div dl dt fieldset figcaption figure footer form "
    "h1 h2 h3 h4 h5 h6 header hgroup hr li main nav ol p pre section summary table tbody thead tfoot tr ul".split()
)
_SKIP = frozenset({"script", "style", "template", "noscript", "head", "title"})
_UNPARSEABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")  # lxml refuses these in a str
_MARKUP = re.compile(r"<[A-Za-z/!][^<>]*>|&#?[A-Za-z0-9]+;")
_BLANK_LINE = re.compile(r"\n[ \t\r\f\v]*\n")


def is_html(mime: str | None, value: str = "") -> bool:
    """Whether a value of this declared type is HTML: undeclared, it is (RSS); ``text/*`` is
    plain text; any other type (base64 ``application/octet-stream``) is read as HTML when it
    holds a tag or an entity."""
    mime = (mime or "text/html").lower()
    if mime in HTML_TYPES or mime.startswith("text/"):
        return mime in HTML_TYPES
    return bool(_MARKUP.search(value))


def paragraphs_of(value: str, mime: str | None = "text/html") -> list[str]:
    """A feed value's paragraphs, read according to its declared type (HTML when undeclared)."""
    return fragment_paragraphs(value) if is_html(mime, value) else plain_paragraphs(value)


def line_of(value: str, mime: str | None = "text/html") -> str:
    """A feed value (a title) as one line of text, read according to its declared type."""
    return " ".join(paragraphs_of(value, mime))


def fragment_paragraphs(fragment: str) -> list[str]:
    """The paragraphs of an HTML fragment such as a feed item's summary."""
    if "<" not in fragment and "&" not in fragment:
        return plain_paragraphs(fragment, blank_lines=False)
    blocks = BlockText()
    parser = etree.HTMLParser(target=blocks, no_network=True)
    try:
        parser.feed(_UNPARSEABLE.sub("", fragment))
        return parser.close()
    except (etree.ParserError, ValueError):
        return plain_paragraphs(_UNPARSEABLE.sub("", fragment), blank_lines=False)


def plain_paragraphs(text: str, *, blank_lines: bool = True) -> list[str]:
    """Paragraphs of plain text: separated by blank lines (a single line break is a wrapped
    line), or with ``blank_lines=False`` all one paragraph."""
    parts = _BLANK_LINE.split(text) if blank_lines else [text]
    return [p for part in parts if (p := " ".join(part.split()))]


class BlockText:
    """An lxml parser target (``etree.HTMLParser(target=BlockText())``) that returns the text
    as paragraphs cut at block elements: white space collapsed, entities decoded, scripts and
    styles skipped, ``<pre>`` lines kept. Streaming, so any depth of nesting is read (a tree
    stops at libxml2's depth limit)."""

    def __init__(self) -> None:
        self.out: list[str] = []
        self.buf: list[str] = []
        self.skipping = 0
        self.pre = 0

    def _flush(self) -> None:
        text = "".join(self.buf)
        self.buf.clear()
        lines = text.splitlines() if self.pre else [text]
        self.out.extend(p for line in lines if (p := " ".join(line.split())))

    def start(self, tag: str, attrib: object) -> None:
        tag = tag.lower()
        if tag in _SKIP or self.skipping:
            self.skipping += 1
        elif tag in _BLOCKS or tag == "pre":
            self._flush()
            self.pre += tag == "pre"

    def end(self, tag: str) -> None:
        tag = tag.lower()
        if self.skipping:
            self.skipping -= 1
        elif tag in _BLOCKS or tag == "pre":
            self._flush()
            self.pre -= tag == "pre" and self.pre > 0
        elif tag in ("td", "th"):
            self.buf.append(" ")

    def data(self, text: str) -> None:
        if not self.skipping:
            self.buf.append(text)

    def comment(self, text: str) -> None:
        pass

    def close(self) -> list[str]:
        self._flush()
        return self.out


def label(paragraphs: list[str], limit: int = LABEL_CHARS) -> str:
    """A short label for an untitled entry: its first words, cut at a word boundary."""
    text = " ".join(paragraphs)
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] or text[:limit]
    return cut.rstrip(" ,;:-") + "…"
