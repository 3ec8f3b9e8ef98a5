"""Entries (one per feed item or file) and stories (one per news story, across outlets).

``record_batch`` records a batch of scanned articles in ONE transaction: the
entries not seen before, their stories, and their alerts in the outbox. An
entry and its alerts therefore exist together or not at all, and an entry
already recorded (same feed, same identity) is skipped, by the database's
unique constraint, however many pollers race.

Stories: an exact content fingerprint first, else a MinHash LSH query over the
stories of the last ``STORY_WINDOW``, else a new story. The LSH index lives in
memory and catches up on stories other processes added (by id) before each
batch; batches are serialized (``lock_stories``), so two pollers meeting the same
new story at once still give it one story.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from datasketch import MinHashLSH
from sqlalchemy.engine import Connection, Engine

from extractors.article import Article
from extractors.fingerprint import NUM_PERM, THRESHOLD, content_fingerprint, from_bytes, signature, to_bytes
from extractors.scan import AlertResult, ScanResult
from flows import outbox
from flows.db import entries, lock_stories, stories

STORY_WINDOW = timedelta(days=7)


@dataclass(frozen=True)
class Item:
    """One scanned article to record. ``feed_id`` is "files" for article files."""

    feed_id: str
    identity: str
    article: Article
    result: ScanResult


@dataclass(frozen=True)
class Recorded:
    item: Item
    entry_id: int | None  # None: already recorded before
    story_id: int | None
    new_story: bool
    alert_ids: list[int]
    new_alerts: list[AlertResult] = field(default_factory=list)  # the alerts that became outbox records

    @property
    def new(self) -> bool:
        return self.entry_id is not None


@dataclass
class _StoryIndex:
    lsh: MinHashLSH = field(default_factory=lambda: MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM))
    last_id: int = 0

    def catch_up(self, conn: Connection, now: datetime) -> None:
        rows = conn.execute(
            sa.select(stories.c.id, stories.c.signature)
            .where(stories.c.id > self.last_id, stories.c.first_seen >= now - STORY_WINDOW)
            .order_by(stories.c.id)
        ).all()
        for story_id, sig in rows:
            if sig:
                self.add(story_id, sig)
        if rows:
            self.last_id = rows[-1][0]

    def add(self, story_id: int, sig: bytes) -> None:
        self.lsh.insert(story_id, from_bytes(sig))
        self.last_id = max(self.last_id, story_id)


_indexes: dict[str, _StoryIndex] = {}


def _index_for(engine: Engine) -> _StoryIndex:
    return _indexes.setdefault(engine.url.render_as_string(hide_password=False), _StoryIndex())


def _insert(conn: Connection, table: sa.Table):  # type: ignore[no-untyped-def]
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def record_batch(
    engine: Engine, items: list[Item], *, channels_for: Callable[[str], list[str]], now: datetime | None = None
) -> list[Recorded]:
    now = now or datetime.now(UTC)
    index = _index_for(engine)
    try:
        return _record(engine, index, items, channels_for, now)
    except BaseException:
        _indexes.clear()  # it may hold stories of the rolled-back transaction
        raise


def _record(
    engine: Engine, index: _StoryIndex, items: list[Item], channels_for: Callable[[str], list[str]], now: datetime
) -> list[Recorded]:
    out: list[Recorded] = []
    with engine.begin() as conn:
        lock_stories(conn)
        index.catch_up(conn, now)
        known = _known(conn, items)
        for item in items:
            if (item.feed_id, item.identity) in known:
                out.append(Recorded(item, None, None, False, []))
                continue
            fingerprint = content_fingerprint(item.article)
            sig = signature(item.article)
            story_id = _same_fingerprint(conn, fingerprint) or _similar(index, sig)
            new_story = story_id is None
            if story_id is None:
                story_id = conn.execute(
                    stories.insert().values(first_seen=now, title=item.article.title, signature=to_bytes(sig))
                    .returning(stories.c.id)
                ).scalar_one()
                index.add(story_id, to_bytes(sig))
            entry_id = conn.execute(
                _insert(conn, entries)
                .values(feed_id=item.feed_id, identity=item.identity, url=item.article.url, title=item.article.title,
                        source=item.article.source, published=item.article.published, first_seen=now,
                        fingerprint=fingerprint, story_id=story_id)
                .on_conflict_do_nothing(index_elements=["feed_id", "identity"])
                .returning(entries.c.id)
            ).scalar()
            if entry_id is None:  # another poller recorded it a moment ago
                out.append(Recorded(item, None, None, False, []))
                continue
            known.add((item.feed_id, item.identity))
            if not new_story:
                outbox.add_outlet(conn, story_id=story_id, article=item.article, now=now)
            new_alerts = [
                (alert_id, alert)
                for alert in item.result.alerts
                if (alert_id := outbox.enqueue(
                    conn, alert=alert.model_dump(mode="json"), article=item.article, story_id=story_id,
                    entry_id=entry_id, channels=channels_for(alert.rule), now=now,
                )) is not None
            ]
            out.append(Recorded(item, entry_id, story_id, new_story, [i for i, _ in new_alerts], [a for _, a in new_alerts]))
    return out


def known_identities(conn: Connection, feed_id: str, identities: list[str]) -> set[str]:
    """Which of ``identities`` the feed already has entries for."""
    found: set[str] = set()
    for i in range(0, len(identities), 500):
        chunk = identities[i : i + 500]
        found.update(conn.execute(
            sa.select(entries.c.identity).where(entries.c.feed_id == feed_id, entries.c.identity.in_(chunk))
        ).scalars())
    return found


def _known(conn: Connection, items: list[Item]) -> set[tuple[str, str]]:
    by_feed: dict[str, list[str]] = {}
    for item in items:
        by_feed.setdefault(item.feed_id, []).append(item.identity)
    return {(feed, ident) for feed, idents in by_feed.items() for ident in known_identities(conn, feed, idents)}


def _same_fingerprint(conn: Connection, fingerprint: str) -> int | None:
    return conn.execute(
        sa.select(entries.c.story_id).where(entries.c.fingerprint == fingerprint).limit(1)
    ).scalar()


def _similar(index: _StoryIndex, sig: object) -> int | None:
    candidates = index.lsh.query(sig)
    return min(candidates) if candidates else None
