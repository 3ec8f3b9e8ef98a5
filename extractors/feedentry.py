"""One feed entry as clean text, its identity within the feed, and its Article."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from extractors.article import Article, Text
from extractors.feedtext import label
from extractors.urls import canonical_url, entry_identity


class FeedEntry(BaseModel):
    """An entry of any feed format, its text already converted by its declared type."""

    model_config = ConfigDict(frozen=True)

    guid: Text = ""
    link: Text = ""
    title: Text = ""
    paragraphs: list[Text] = Field(default_factory=list)
    published: datetime | None = None
    source: Text | None = None  # the outlet an aggregator's entry names

    @property
    def has_text(self) -> bool:
        return bool(self.title or self.paragraphs)

    def content_key(self) -> str:
        return f"{self.title}\n" + "\n".join(self.paragraphs)


def entry_text(body: list[str], summary: list[str]) -> list[str]:
    """The entry's text: its full content, or its summary when that says more."""
    return body if sum(map(len, body)) >= sum(map(len, summary)) else summary


def identities(entries: list[FeedEntry]) -> tuple[list[str], list[str]]:
    """Each entry's identity (guid, else canonical link, else a content hash), and warnings.

    Distinct entries never share one: where several entries of the document carry the same
    id (sloppy feeds give every item the site's address), each is told apart by its link,
    else by a hash of its text. Entries identical in id, link and text are one entry."""
    base = [entry_identity(e.guid, e.link, e.content_key()) for e in entries]
    groups: defaultdict[str, list[int]] = defaultdict(list)
    for n, identity in enumerate(base):
        groups[identity].append(n)
    out, warnings = list(base), []
    for identity, members in groups.items():
        if len(members) < 2:
            continue
        links = {canonical_url(entries[n].link) for n in members if entries[n].link}
        by_link = len(links) == len(members) and identity not in links
        for n in members:
            e = entries[n]
            out[n] = f"{identity} {canonical_url(e.link) if by_link else _digest(e.content_key())}"
        distinct = len(set(out[n] for n in members))
        warnings.append(f"{len(members)} entries share the id {identity[:80]!r}: "
                        + (f"told apart by their {'links' if by_link else 'text'}" if distinct == len(members)
                           else f"{_count(len(members) - distinct, 'exact duplicate')} dropped"))
    return out, warnings


def to_article(entry: FeedEntry, *, feed_id: str, feed_name: str, identity: str) -> Article:
    """The Article scanned for a feed entry. An untitled entry (Mastodon, chat bridges) is
    scanned whole; its label, for people, is the start of its text."""
    url = entry.link if entry.link.lower().startswith(("http://", "https://")) else None
    return Article(
        id=hashlib.sha256(f"{feed_id}\n{identity}".encode()).hexdigest()[:16],
        title=entry.title,
        paragraphs=entry.paragraphs,
        source=entry.source or feed_name,
        published=entry.published,
        url=canonical_url(url) if url else None,
        metadata={} if entry.title else {"label": label(entry.paragraphs)},
    )


def _count(n: int, thing: str) -> str:
    return f"{n} {thing}{'' if n == 1 else 's'}"


def _digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
