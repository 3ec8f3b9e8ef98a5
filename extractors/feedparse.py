"""A fetched feed document (RSS, Atom, RDF, CDF or JSON Feed) to entries, with warnings.

feedparser reads the XML formats from bytes (it never fetches here); JSON Feed is
read by ``extractors.jsonfeed``. One bad entry, date or character reference costs
a warning, never the feed's other entries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import feedparser

from extractors.feedentry import FeedEntry, entry_text, identities
from extractors.feedtext import line_of, paragraphs_of
from extractors.jsonfeed import JsonFeedError, looks_like_json, parse_json_feed

_CHAR_REF = re.compile(rb"&#(?:[xX]([0-9a-fA-F]{1,16})|([0-9]{1,20}));")
_REPLACEMENT = b"&#xFFFD;"
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9._:-]+)", re.IGNORECASE)


@dataclass
class ParsedFeed:
    entries: list[tuple[str, FeedEntry]] = field(default_factory=list)  # (identity, entry), first seen first
    warnings: list[str] = field(default_factory=list)
    failure: str | None = None  # why the document is not a feed at all
    encoding: str | None = None
    raw_entries: int = 0  # entries in the document, before dropping empty and duplicate ones


def parse_feed(body: bytes, headers: dict[str, str] | None = None) -> ParsedFeed:
    headers = headers or {}
    if not body.strip():
        return ParsedFeed(failure="not a feed: the response is empty")
    if looks_like_json(body, headers.get("content-type", "")):
        try:
            _, entries, warnings = parse_json_feed(body)
        except JsonFeedError as exc:
            if body.lstrip()[:1] == b"{":
                return ParsedFeed(failure=str(exc))
        else:
            return _finish(entries, warnings, "utf-8")
    body, repaired = repair_char_refs(body)
    warnings = [f"{repaired} invalid character reference{'' if repaired == 1 else 's'} replaced by U+FFFD"] if repaired else []
    parsed = feedparser.parse(body, response_headers=_as_xml(headers))
    problem = None
    if isinstance(parsed.get("bozo_exception"), feedparser.CharacterEncodingOverride):
        warnings.append(f"encoding: {str(parsed.bozo_exception)[:200]}")
    elif parsed.bozo:
        problem = f"{type(parsed.bozo_exception).__name__}: {str(parsed.bozo_exception)[:200]}"
    if not parsed.entries and (problem or not parsed.version):
        kind = " (an HTML page)" if b"<html" in body[:4096].lower() else ""
        return ParsedFeed(failure=f"not a feed{kind}" + (f": {problem}" if problem else ""))
    if problem:
        warnings.append(f"malformed feed, good entries kept: {problem}")
    entries = []
    for n, raw in enumerate(parsed.entries, 1):
        try:
            entries.append(from_feedparser(raw, warnings))
        except Exception as exc:  # noqa: BLE001  (one odd entry must not cost the others)
            warnings.append(f"entry {n} skipped: {type(exc).__name__}: {str(exc)[:120]}")
    return _finish(entries, warnings, parsed.get("encoding"))


def _as_xml(headers: dict[str, str]) -> dict[str, str]:
    """The response headers as feedparser should weigh them: a charset the server declares comes
    first; without one, the document's own declaration, its BOM, then detection (chardet). Left
    as they are, a missing Content-Type makes feedparser read the bytes as ISO-8859-1 and a
    ``text/*`` one as US-ASCII (RFC 3023), which turns every undeclared legacy encoding into
    mojibake."""
    charset = _CHARSET.search(headers.get("content-type", ""))
    return {**headers, "content-type": "application/xml" + (f"; charset={charset.group(1)}" if charset else "")}


def repair_char_refs(body: bytes) -> tuple[bytes, int]:
    """``body`` with every numeric character reference that names no character (a surrogate,
    past U+10FFFF, NUL) replaced by one to U+FFFD, as HTML does; and how many there were.
    feedparser raises on them, which would cost the whole feed."""
    count = 0

    def fix(m: re.Match[bytes]) -> bytes:
        nonlocal count
        hex_digits, digits = m.groups()
        code = int(hex_digits, 16) if hex_digits else int(digits)
        if code == 0 or 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
            count += 1
            return _REPLACEMENT
        return m.group(0)

    return (_CHAR_REF.sub(fix, body) if b"&#" in body else body), count


def from_feedparser(entry: Any, warnings: list[str]) -> FeedEntry:
    """A feedparser entry as clean text, each value read by its declared type."""
    body = max((paragraphs_of(c.get("value") or "", c.get("type")) for c in entry.get("content") or []),
               key=lambda ps: sum(map(len, ps)), default=[])
    summary = paragraphs_of(entry.get("summary") or "", (entry.get("summary_detail") or {}).get("type"))
    guid, link = str(entry.get("id") or ""), str(entry.get("link") or "")
    return FeedEntry(
        guid=guid,
        link=link,
        title=line_of(entry.get("title") or "", (entry.get("title_detail") or {}).get("type")),
        paragraphs=entry_text(body, summary),
        published=_published(entry, guid or link, warnings),
        source=_source(entry),
    )


def _published(entry: Any, what: str, warnings: list[str]) -> datetime | None:
    when = entry.get("published_parsed") or entry.get("updated_parsed")
    if not when:
        return None
    try:
        return datetime(*when[:6], tzinfo=UTC)
    except (ValueError, OverflowError, TypeError) as exc:
        warnings.append(f"entry {what[:80]!r}: date ignored ({exc})")
        return None


def _source(entry: Any) -> str | None:
    """The outlet an aggregator's entry names (RSS ``<source>``, Atom ``<source><title>``)."""
    source = entry.get("source")
    title = " ".join(str(source.get("title") or "").split()) if isinstance(source, dict) else ""
    return title or None


def _finish(entries: list[FeedEntry], warnings: list[str], encoding: str | None) -> ParsedFeed:
    kept = []
    for n, e in enumerate(entries, 1):
        if e.has_text:
            kept.append(e)
        else:
            warnings.append(f"entry {(e.guid or e.link or str(n))[:80]!r} has no title and no text")
    ids, duplicate_warnings = identities(kept)
    seen: dict[str, FeedEntry] = {}
    for identity, e in zip(ids, kept):
        seen.setdefault(identity, e)
    return ParsedFeed(list(seen.items()), warnings + duplicate_warnings, None, encoding, len(entries))
