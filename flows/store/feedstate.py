"""The ``feeds`` table: conditional-GET validators, failures and back-off, per feed.

A feed's validators (ETag, Last-Modified) say "you have everything up to here". They advance
only in the transaction that records the items they cover (``advance``, called by
``entries.record_batch``): a crash, a kill or a database error before that leaves the old
validators, and the next poll fetches the feed again (docs/reliability.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from extractors.article import clean_text
from flows.store.db import feeds, upsert

BACKOFF_START = timedelta(minutes=5)
BACKOFF_MAX = timedelta(hours=24)


@dataclass(frozen=True)
class FeedState:
    etag: str | None = None
    last_modified: str | None = None
    failures: int = 0
    next_attempt_at: datetime | None = None
    last_error: str | None = None

    def due(self, now: datetime) -> bool:
        return self.next_attempt_at is None or self.next_attempt_at <= now


@dataclass(frozen=True)
class Outcome:
    """What one poll of one feed did to its state."""

    feed_id: str
    url: str
    ok: bool
    etag: str | None = None
    last_modified: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class Validators:
    """A feed's validators, to store once the items fetched with them are recorded."""

    feed_id: str
    etag: str | None
    last_modified: str | None


def advance(conn: Connection, validators: list[Validators]) -> None:
    """Store the validators, inside the caller's transaction (the one recording their items)."""
    for v in validators:
        conn.execute(feeds.update().where(feeds.c.id == v.feed_id).values(etag=v.etag, last_modified=v.last_modified))


def load(engine: Engine) -> dict[str, FeedState]:
    with engine.begin() as conn:
        rows = conn.execute(sa.select(feeds.c.id, feeds.c.etag, feeds.c.last_modified, feeds.c.failures, feeds.c.next_attempt_at, feeds.c.last_error))
        return {r.id: FeedState(r.etag, r.last_modified, r.failures, _aware(r.next_attempt_at), r.last_error) for r in rows}


def due(engine: Engine, feed_id: str, now: datetime) -> bool:
    with engine.begin() as conn:
        at = conn.execute(sa.select(feeds.c.next_attempt_at).where(feeds.c.id == feed_id)).scalar()
    return at is None or _aware(at) <= now  # type: ignore[operator]


def backoff(failures: int) -> timedelta:
    """The wait after ``failures`` failures in a row: 5 min, 10, 20, ... at most 24 h."""
    return min(BACKOFF_START * 2 ** min(failures - 1, 20), BACKOFF_MAX)


def record(engine: Engine, outcomes: list[Outcome], previous: dict[str, FeedState], now: datetime) -> None:
    """Record a whole poll in one transaction: validators on success, back-off on failure."""
    now = now.astimezone(UTC)  # SQLite keeps no offset: store UTC
    with engine.begin() as conn:
        for o in outcomes:
            before = previous.get(o.feed_id, FeedState())
            if o.ok:
                values = {"url": o.url, "etag": o.etag, "last_modified": o.last_modified, "last_attempt_at": now,
                          "last_success_at": now, "failures": 0, "last_error": None, "next_attempt_at": None}
            else:
                failures = before.failures + 1
                values = {"url": o.url, "last_attempt_at": now, "failures": failures, "last_error": clean_text(o.error or ""),
                          "next_attempt_at": now + backoff(failures)}
            conn.execute(upsert(conn, feeds).values(id=o.feed_id, **values).on_conflict_do_update(index_elements=[feeds.c.id], set_=values))


def _aware(d: datetime | None) -> datetime | None:
    return d if d is None or d.tzinfo else d.replace(tzinfo=UTC)
