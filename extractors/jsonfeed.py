"""JSON Feed 1.0 and 1.1 (https://jsonfeed.org/version/1.1) as feed entries.

feedparser 6.0 reads only XML feeds; this reads the JSON ones. Each item is
validated on its own: a bad item costs a warning, never the feed.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from extractors.feedentry import FeedEntry, entry_text
from extractors.feedtext import fragment_paragraphs, line_of, plain_paragraphs

VERSION_PREFIX = "https://jsonfeed.org/version/1"


class JsonFeedError(ValueError):
    pass


class _Item(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str | int | float | None = None
    url: str | None = None
    external_url: str | None = None
    title: str | None = None
    content_html: str | None = None
    content_text: str | None = None
    summary: str | None = None
    date_published: str | None = None
    date_modified: str | None = None

    @field_validator("id")
    @classmethod
    def _id_as_text(cls, v: object) -> str | None:  # 1.0 feeds often give numbers
        return None if v is None else str(v)


def looks_like_json(body: bytes, content_type: str = "") -> bool:
    return "json" in content_type.lower() or body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"


def parse_json_feed(body: bytes) -> tuple[str, list[FeedEntry], list[str]]:
    """(title, entries, warnings) of a JSON Feed; JsonFeedError when it is not one."""
    try:
        doc = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise JsonFeedError(f"not a JSON Feed: {str(exc)[:120]}") from None
    if not isinstance(doc, dict) or not str(doc.get("version", "")).startswith(VERSION_PREFIX):
        raise JsonFeedError("not a JSON Feed (no jsonfeed.org version)")
    items = doc.get("items")
    if not isinstance(items, list):
        raise JsonFeedError("not a JSON Feed (no items list)")
    entries, warnings = [], []
    for n, raw in enumerate(items, 1):
        try:
            entries.append(_entry(_Item.model_validate(raw), warnings))
        except ValidationError as exc:
            warnings.append(f"item {n} skipped: {exc.errors()[0]['loc']} {exc.errors()[0]['msg']}"[:200])
    return str(doc.get("title") or ""), entries, warnings


def _entry(item: _Item, warnings: list[str]) -> FeedEntry:
    body = fragment_paragraphs(item.content_html) if item.content_html else plain_paragraphs(item.content_text or "")
    summary = plain_paragraphs(item.summary or "")
    when = item.date_published or item.date_modified
    return FeedEntry(
        guid=item.id or "",
        link=item.url or item.external_url or "",
        title=line_of(item.title or "", "text/plain"),
        paragraphs=entry_text(body, summary),
        published=_date(when, item.id or item.url or "", warnings) if when else None,
    )


def _date(value: str, what: str, warnings: list[str]) -> datetime | None:
    try:
        d = datetime.fromisoformat(value.strip())
        return d.astimezone(UTC) if d.tzinfo else None
    except (ValueError, OverflowError) as exc:
        warnings.append(f"entry {what[:80]!r}: date ignored ({exc})")
        return None
