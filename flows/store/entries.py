"""Entries (one per feed item or file) and stories (one per news story, across outlets).

``record_batch`` records a batch of scanned articles in ONE transaction: the
entries not seen before, their stories, their alerts in the outbox, and the
validators of the feeds they came from. An entry, its alerts and the feed state
that says it was seen therefore exist together or not at all. An entry already recorded
(same feed, same identity) is skipped by the database's unique constraint
(INSERT … ON CONFLICT DO NOTHING), however many pollers race.

A new entry's story: a recorded entry with the same content fingerprint, else
the most similar story of the last ``STORY_WINDOW`` (MinHash LSH, its bands in
the ``story_bands`` table) whose details agree where it is short
(``fingerprint.agree``), else a new story. Batches are serialized across
processes (``db.writing``); each looks its candidate stories up before taking
the lock and, under it, adds the stories recorded since, so two pollers meeting
the same new story at once still give it one story, and a rolled-back batch
leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from datasketch import LeanMinHash
from sqlalchemy.engine import Connection, Engine

from extractors.article import Article
from extractors.fingerprint import (
    agree, band_keys, content_fingerprint, details, from_bytes, is_short, most_similar, signature, to_bytes, words,
)
from extractors.scan import AlertResult, ScanResult
from flows.store import feedstate, outbox
from flows.store.db import article_texts, entries, in_chunks, stories, story_bands, upsert, writing

STORY_WINDOW = timedelta(days=7)
BAND_LIST = 5000  # band keys per IN (...) list: a batch of 500 new articles has 21,000


@dataclass(frozen=True)
class Item:
    """One scanned article to record. ``feed_id`` is "files" for article files; ``identity``
    the feed entry's identity or the file path."""

    feed_id: str
    identity: str
    article: Article
    result: ScanResult


@dataclass(frozen=True)
class Recorded:
    item: Item
    entry_id: int | None  # None when not new
    story_id: int | None
    new: bool  # False: recorded before (or earlier in the same batch)
    new_story: bool
    alert_ids: list[int]
    new_alerts: list[AlertResult] = field(default_factory=list)  # the alerts behind alert_ids


def record_batch(
    engine: Engine, items: list[Item], *, channels_for: Callable[[str], list[str]], now: datetime | None = None,
    feeds: Sequence[feedstate.Validators] = (),
) -> list[Recorded]:
    """Record ``items`` (one transaction) and return one ``Recorded`` per item, in order.
    ``channels_for(rule_id)`` names the channels a new alert of that rule goes to; ``feeds``
    are validators stored in the same transaction (those of the feeds whose last items these are)."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    # The CPU work and the story look-up come first, outside the write lock, so that parallel
    # workers overlap them; under the lock, only the stories recorded since are looked at.
    fingerprints = [content_fingerprint(i.article) for i in items]
    signatures = [signature(i.article) for i in items]
    bands = [band_keys(s) for s in signatures]
    with engine.connect() as conn:
        index = _Index.load(conn, bands, now - STORY_WINDOW)
    with writing(engine) as conn:
        index.catch_up(conn, now - STORY_WINDOW)
        recorded = _record(conn, index, items, fingerprints, signatures, bands, channels_for, now)
        feedstate.advance(conn, list(feeds))
        return recorded


@dataclass
class _New:
    """A new entry on its way in; ``story`` is a story id, or a pending story's key until it has one."""

    position: int  # in the batch
    entry_id: int
    fingerprint: str
    story: Hashable = None
    new_story: bool = False


def _record(
    conn: Connection, index: _Index, items: list[Item], fingerprints: list[str], signatures: list[LeanMinHash],
    bands: list[list[int]], channels_for: Callable[[str], list[str]], now: datetime,
) -> list[Recorded]:
    conn.execute(story_bands.delete().where(story_bands.c.seen < now - STORY_WINDOW))
    fresh = _insert_entries(conn, items, fingerprints, now)
    _assign_stories(conn, index, items, fresh, signatures, bands, now)
    out = [Recorded(item, None, None, False, False, []) for item in items]
    requests, owners = [], []
    for new in fresh:
        item, story_id = items[new.position], int(new.story)  # type: ignore[call-overload]
        for alert in item.result.alerts:
            requests.append(outbox.Request(alert.model_dump(mode="json"), item.article, story_id, new.entry_id, channels_for(alert.rule)))
            owners.append((new, alert))
    alert_ids = outbox.enqueue_many(conn, requests, now)
    texts = [{"entry_id": n.entry_id, "article": items[n.position].article.model_dump(mode="json")}
             for n in fresh if items[n.position].result.alerts]
    if texts:  # kept so that labelled alerts can be re-scanned (tocsin eval --feedback)
        conn.execute(article_texts.insert(), texts)
    outbox.add_outlets(conn, [(int(n.story), items[n.position].article) for n in fresh if not n.new_story], now)  # type: ignore[call-overload]
    fired: dict[int, list[tuple[int, AlertResult]]] = {}
    for (new, alert), alert_id in zip(owners, alert_ids):
        if alert_id is not None:
            fired.setdefault(new.position, []).append((alert_id, alert))
    for new in fresh:
        mine = fired.get(new.position, [])
        out[new.position] = Recorded(items[new.position], new.entry_id, int(new.story), True, new.new_story,  # type: ignore[call-overload]
                                     [i for i, _ in mine], [a for _, a in mine])
    return out


def _insert_entries(conn: Connection, items: list[Item], fingerprint_of: list[str], now: datetime) -> list[_New]:
    """Insert the items' entries (story not yet set); the ones that were not there yet, in batch order."""
    first: dict[tuple[str, str], int] = {}
    for position, item in enumerate(items):
        first.setdefault((item.feed_id, item.identity), position)
    if not first:
        return []
    fingerprints = {key: fingerprint_of[p] for key, p in first.items()}
    rows = [
        {"feed_id": key[0], "identity": key[1], "url": a.url, "title": a.headline, "source": a.source,
         "published": a.published, "language": a.detected_language, "first_seen": now, "fingerprint": fingerprints[key], "story_id": None}
        for key, p in first.items()
        for a in [items[p].article]
    ]
    stmt = (
        upsert(conn, entries)
        .on_conflict_do_nothing(index_elements=["feed_id", "identity"])
        .returning(entries.c.id, entries.c.feed_id, entries.c.identity)
    )
    ids = {(feed_id, identity): entry_id for entry_id, feed_id, identity in conn.execute(stmt, rows)}
    return [_New(p, ids[key], fingerprints[key]) for key, p in first.items() if key in ids]


def _assign_stories(
    conn: Connection, index: _Index, items: list[Item], fresh: list[_New], signatures: list[LeanMinHash],
    bands: list[list[int]], now: datetime,
) -> None:
    """Give each new entry a story: same fingerprint, else near-duplicate, else a new story.
    New stories are keyed ("new", n) until one INSERT gives them ids."""
    by_fingerprint = _stories_by_fingerprint(conn, [n.fingerprint for n in fresh])
    pending: list[tuple[_New, LeanMinHash]] = []
    for new in fresh:
        new.story = by_fingerprint.get(new.fingerprint)
        if new.story is None:
            sig, keys, article = signatures[new.position], bands[new.position], items[new.position].article
            candidates = index.candidates(keys)
            if any(index.details.get(s) is not None for s, _ in candidates):
                mine, seen = details(article), set(words(article))
                candidates = [(s, other) for s, other in candidates if agree(index.details.get(s), mine, seen)]
            new.story = most_similar(sig, candidates)
            if new.story is None:
                new.story, new.new_story = ("new", len(pending)), True
                pending.append((new, sig))
                index.add(new.story, keys, sig, sorted(details(article)) if is_short(article) else None)
        by_fingerprint.setdefault(new.fingerprint, new.story)
    if pending:
        # Pending stories' signatures are distinct (identical ones always match), so they tell
        # the returned ids apart without a row-by-row INSERT.
        rows = [{"first_seen": now, "title": items[n.position].article.headline, "signature": to_bytes(sig),
                 "details": index.details[n.story]} for n, sig in pending]
        ids = dict(conn.execute(stories.insert().returning(stories.c.signature, stories.c.id), rows).all())
        real = {new.story: ids[row["signature"]] for (new, _), row in zip(pending, rows, strict=True)}
        conn.execute(story_bands.insert(), [
            {"band": band, "story_id": real[new.story], "seen": now}
            for new, _ in pending for band in dict.fromkeys(bands[new.position])
        ])
        for new in fresh:
            new.story = real.get(new.story, new.story)
    if fresh:
        conn.execute(
            entries.update().where(entries.c.id == sa.bindparam("entry_id")).values(story_id=sa.bindparam("story")),
            [{"entry_id": n.entry_id, "story": n.story} for n in fresh],
        )


@dataclass
class _Index:
    """The part of the near-duplicate index one batch can need: the recorded stories of the window
    that share a band with one of its articles, plus the batch's own new stories.

    Loaded before the write lock up to the newest story then recorded (``newest``); story ids
    grow in commit order, as writers are serialized, so ``catch_up`` under the lock completes
    it with the stories recorded since."""

    stories_by_band: dict[int, list[Hashable]]
    signatures: dict[Hashable, LeanMinHash]
    newest: int
    details: dict[Hashable, list[str] | None] = field(default_factory=dict)  # of short stories

    @classmethod
    def load(cls, conn: Connection, bands: Iterable[list[int]], since: datetime) -> _Index:
        with conn.begin():
            newest = conn.execute(sa.select(sa.func.max(stories.c.id))).scalar() or 0
            stories_by_band: dict[int, list[Hashable]] = {}
            for chunk in in_chunks(sorted({b for keys in bands for b in keys}), BAND_LIST):
                for band, story_id in conn.execute(
                    sa.select(story_bands.c.band, story_bands.c.story_id)
                    .where(story_bands.c.band.in_(chunk), story_bands.c.seen >= since, story_bands.c.story_id <= newest)
                ):
                    stories_by_band.setdefault(band, []).append(story_id)
            signatures: dict[Hashable, LeanMinHash] = {}
            details_: dict[Hashable, list[str] | None] = {}
            for chunk in in_chunks(sorted({s for ids in stories_by_band.values() for s in ids})):
                for story_id, sig, found in conn.execute(
                    sa.select(stories.c.id, stories.c.signature, stories.c.details).where(stories.c.id.in_(chunk))
                ):
                    signatures[story_id], details_[story_id] = from_bytes(sig), found
        return cls(stories_by_band, signatures, newest, details_)

    def catch_up(self, conn: Connection, since: datetime) -> None:
        """Add the stories of the window recorded since ``load``."""
        for story_id, sig, found in conn.execute(
            sa.select(stories.c.id, stories.c.signature, stories.c.details)
            .where(stories.c.id > self.newest, stories.c.first_seen >= since, stories.c.signature.is_not(None))
        ):
            signature_ = from_bytes(sig)
            self.add(story_id, band_keys(signature_), signature_, found)

    def candidates(self, bands: list[int]) -> list[tuple[Hashable, LeanMinHash]]:
        """The stories sharing a band with ``bands``, recorded ones first, each in the order it came."""
        found = dict.fromkeys(s for b in bands for s in self.stories_by_band.get(b, ()))
        ordered = sorted(found, key=lambda s: (1, s[1]) if isinstance(s, tuple) else (0, s))
        return [(s, self.signatures[s]) for s in ordered]

    def add(self, story: Hashable, bands: list[int], sig: LeanMinHash, details_: list[str] | None = None) -> None:
        for b in bands:
            self.stories_by_band.setdefault(b, []).append(story)
        self.signatures[story] = sig
        self.details[story] = details_


def _stories_by_fingerprint(conn: Connection, fingerprints: list[str]) -> dict[str, Hashable]:
    found: dict[str, Hashable] = {}
    for chunk in in_chunks(sorted(set(fingerprints))):
        found.update(conn.execute(
            sa.select(entries.c.fingerprint, sa.func.min(entries.c.story_id))
            .where(entries.c.fingerprint.in_(chunk), entries.c.story_id.is_not(None))
            .group_by(entries.c.fingerprint)
        ).all())
    return found


def known_identities(conn: Connection, feed_id: str, identities: list[str]) -> set[str]:
    """Which of ``identities`` the feed already has entries for."""
    found: set[str] = set()
    for chunk in in_chunks(identities):
        found.update(conn.execute(
            sa.select(entries.c.identity).where(entries.c.feed_id == feed_id, entries.c.identity.in_(chunk))
        ).scalars())
    return found


def story_outlets(conn: Connection, story_id: int) -> list[dict[str, Any]]:
    """Every recorded copy of a story, first seen first: feed, source, title, url."""
    rows = conn.execute(
        sa.select(entries.c.feed_id, entries.c.source, entries.c.title, entries.c.url)
        .where(entries.c.story_id == story_id)
        .order_by(entries.c.first_seen, entries.c.id)
    )
    return [dict(row._mapping) for row in rows]
