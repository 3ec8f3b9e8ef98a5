"""The ``feeds`` table: conditional-GET validators, failures and back-off, per feed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from flows.db import feeds

BACKOFF_START = timedelta(minutes=5)
BACKOFF_MAX = timedelta(hours=24)


@dataclass(frozen=True)
class FeedState:
    etag: str | None = None
    last_modified: str | None = None
    failures: int = 0
    next_attempt_at: datetime | None = None

    def due(self, now: datetime) -> bool:
        return self.next_attempt_at is None or _aware(self.next_attempt_at) <= now


@dataclass(frozen=True)
class Outcome:
    """What one poll of one feed did to its state."""

    feed_id: str
    url: str
    ok: bool
    etag: str | None = None
    last_modified: str | None = None
    error: str | None = None


def load(engine: Engine) -> dict[str, FeedState]:
    with engine.begin() as conn:
        rows = conn.execute(sa.select(feeds.c.id, feeds.c.etag, feeds.c.last_modified, feeds.c.failures, feeds.c.next_attempt_at))
        return {r.id: FeedState(r.etag, r.last_modified, r.failures, r.next_attempt_at) for r in rows}


def record(engine: Engine, outcomes: list[Outcome], previous: dict[str, FeedState], now: datetime) -> None:
    """Record a whole poll in one transaction: validators on success, back-off on failure."""
    with engine.begin() as conn:
        for o in outcomes:
            before = previous.get(o.feed_id, FeedState())
            if o.ok:
                values = {"url": o.url, "etag": o.etag, "last_modified": o.last_modified, "last_attempt_at": now,
                          "last_success_at": now, "failures": 0, "last_error": None, "next_attempt_at": None}
            else:
                failures = before.failures + 1
                values = {"url": o.url, "last_attempt_at": now, "failures": failures, "last_error": o.error,
                          "next_attempt_at": now + min(BACKOFF_START * 2 ** (failures - 1), BACKOFF_MAX)}
            updated = conn.execute(feeds.update().where(feeds.c.id == o.feed_id).values(**values)).rowcount
            if not updated:
                conn.execute(feeds.insert().values(id=o.feed_id, **{"failures": 0, **values}))


def _aware(d: datetime) -> datetime:
    return d if d.tzinfo else d.replace(tzinfo=UTC)
