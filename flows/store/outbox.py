"""The alert outbox: recorded with the article, delivered afterwards, once per rule and story.

``enqueue`` runs inside the transaction that records the article, so an alert
exists exactly when its article does. Its key is ``RULE:STORY``: a second copy
of a story (another outlet) adds to "also reported by" and pages nobody.

``drain`` delivers what is due, one channel at a time. Each delivery is first
claimed (an atomic status change with a lease), so overlapping drains never send
the same one; it is marked sent in its own transaction right after the send
succeeds. A lease runs from the moment of the claim, and a drain renews the leases
of what it holds every ``LEASE / 3`` while a slow channel works, so no other drain
takes it over however long the sends take (``_Lease``). A crash between the send and that record is the only way an alert can
go out twice (its lease expires and it is sent again), and nothing can make it
go out zero times. A failing channel is retried with exponential back-off and loses nothing.
Digest severities, cool-downs and rate limits hold deliveries back; held ones go
out in the channel's next digest. A digest whose sender died (its rows left ``digesting``) goes
out in the first drain after its lease expires.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from extractors.article import Article
from extractors.watchlist import SEVERITIES, Watchlist
from flows.deliver.channels import Channel, DeliveryError, resolve
from flows.store.db import alerts, deliveries, in_chunks, upsert

BACKOFF_START = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=1)
LEASE = timedelta(minutes=5)  # a claimed delivery whose sender died is retried after this; renewed while it lives
PAGE, DIGEST, HELD, SENT = "pending", "digest", "held", "sent"
SENDING, DIGESTING = "sending", "digesting"  # claimed by one drain; the others leave it alone
PAGE_SIZE = 500  # deliveries read at once, and alerts in one digest message
CLAIM = 50  # deliveries claimed in one statement
MAX_OUTLETS = 50  # outlets kept on one alert ("also reported by"); every copy is still an entry


def _outlet(article: Article) -> dict[str, Any]:
    return {"source": article.source, "url": article.url, "title": article.title}


@dataclass(frozen=True)
class Request:
    """One alert to record: a spec §4 alert object, the article it fired on, and where it goes."""

    alert: dict[str, Any]
    article: Article
    story_id: int
    entry_id: int | None
    channels: list[str]

    @property
    def key(self) -> str:
        return f"{self.alert['rule']}:{self.story_id}"


def enqueue(
    conn: Connection, *, alert: dict[str, Any], article: Article, story_id: int, entry_id: int | None,
    channels: list[str], now: datetime,
) -> int | None:
    """Record ``alert`` for delivery to ``channels``; None if this rule already fired on this
    story (then the article is added as another outlet)."""
    return enqueue_many(conn, [Request(alert, article, story_id, entry_id, channels)], now)[0]


def enqueue_many(conn: Connection, requests: list[Request], now: datetime) -> list[int | None]:
    """``enqueue`` for a batch, in a few statements: one INSERT of alerts, one of deliveries,
    and an UPDATE per alert that gained outlets. The first request of a new key owns the alert;
    the others (and requests for keys recorded before) become its outlets."""
    if not requests:
        return []
    rows = [
        {"key": r.key, "rule": r.alert["rule"], "severity": r.alert["severity"], "story_id": r.story_id,
         "entry_id": r.entry_id, "payload": _payload(r), "outlets": [_outlet(r.article)], "created_at": now, "updated_at": now}
        for r in requests
    ]
    # Values go in as parameters, not inline: inline JSON would defeat the compiled-statement cache.
    stmt = upsert(conn, alerts).on_conflict_do_nothing(index_elements=["key"]).returning(alerts.c.id, alerts.c.key)
    inserted = {key: alert_id for alert_id, key in conn.execute(stmt, rows)}
    ids: list[int | None] = []
    owned: set[str] = set()
    for r in requests:
        owner = r.key in inserted and r.key not in owned
        owned.add(r.key) if owner else None
        ids.append(inserted[r.key] if owner else None)
    delivery_rows = [
        {"alert_id": alert_id, "channel": c, "status": PAGE, "attempts": 0, "next_attempt_at": now}
        for r, alert_id in zip(requests, ids) if alert_id is not None for c in r.channels
    ]
    if delivery_rows:
        conn.execute(deliveries.insert(), delivery_rows)
    _add_outlets(conn, alerts.c.key, [(r.key, r.article) for r, alert_id in zip(requests, ids) if alert_id is None], now)
    return ids


def add_outlet(conn: Connection, *, story_id: int, article: Article, now: datetime) -> None:
    """Another outlet carried this story: add it to "also reported by" of the story's alerts."""
    add_outlets(conn, [(story_id, article)], now)


def add_outlets(conn: Connection, joined: list[tuple[int, Article]], now: datetime) -> None:
    """``add_outlet`` for a batch of (story id, article)."""
    _add_outlets(conn, alerts.c.story_id, joined, now)


def _payload(r: Request) -> dict[str, Any]:
    a = r.article
    published = a.published.isoformat() if a.published else None
    return {**r.alert, "article": {"id": a.id, "title": a.title, "url": a.url, "source": a.source, "published": published, "language": a.detected_language}, "key": r.key}


_SET_OUTLETS = alerts.update().where(alerts.c.id == sa.bindparam("alert_id")).values(
    outlets=sa.bindparam("outlets", type_=alerts.c.outlets.type), updated_at=sa.bindparam("updated_at")
)


def _add_outlets(conn: Connection, by: sa.Column[Any], joined: list[tuple[Any, Article]], now: datetime) -> None:
    """Append each article's outlet to the alerts whose ``by`` column matches, once per outlet,
    up to ``MAX_OUTLETS`` per alert: a story republished under thousands of links costs a
    bounded row, and each append a set look-up, not a scan of the list."""
    if not joined:
        return
    wanted: dict[Any, list[dict[str, Any]]] = {}
    for value, article in joined:
        wanted.setdefault(value, []).append(_outlet(article))
    updates = []
    for chunk in in_chunks(list(wanted)):
        for alert_id, value, outlets in conn.execute(
            sa.select(alerts.c.id, by, alerts.c.outlets).where(by.in_(chunk)).order_by(alerts.c.id).with_for_update()
        ).all():
            merged = list(outlets)
            known = {(o.get("url"), o.get("source")) for o in merged}
            for outlet in wanted[value]:
                if len(merged) >= MAX_OUTLETS:
                    break
                if (outlet["url"], outlet["source"]) not in known:
                    known.add((outlet["url"], outlet["source"]))
                    merged.append(outlet)
            if len(merged) > len(outlets):
                updates.append({"alert_id": alert_id, "outlets": merged, "updated_at": now})
    if updates:
        conn.execute(_SET_OUTLETS, updates)


@dataclass
class DeliveryReport:
    sent: int = 0
    digests: int = 0
    held: int = 0
    for_digest: int = 0  # alerts of a digest severity, now waiting for the next digest
    failed: dict[str, str] = field(default_factory=dict)  # channel -> reason (redacted)

    def add(self, other: DeliveryReport) -> None:
        self.sent += other.sent
        self.digests += other.digests
        self.held += other.held
        self.for_digest += other.for_digest
        self.failed.update(other.failed)

    def __str__(self) -> str:
        text = f"{self.sent} sent, {self.digests} digests, {self.held} held, {self.for_digest} waiting for the digest"
        return text + "".join(f"; {c} failed: {r}" for c, r in self.failed.items())


def drain(engine: Engine, watchlist: Watchlist, *, now: datetime | None = None) -> DeliveryReport:
    """Deliver every due delivery, channel by channel, a page at a time; return what happened."""
    now = now or datetime.now(UTC)
    clock = _clock(now)
    report = DeliveryReport()
    due = sa.or_(deliveries.c.next_attempt_at.is_(None), deliveries.c.next_attempt_at <= now)
    with engine.begin() as conn:
        names = conn.execute(
            sa.select(deliveries.c.channel).distinct()
            .where(deliveries.c.status.in_([PAGE, SENDING, DIGEST, HELD, DIGESTING]), due).order_by(deliveries.c.channel)
        ).scalars().all()
    for name in names:
        try:
            channel = resolve(watchlist, name)
            after = 0
            while rows := _page(engine, name, after, due):
                if not _drain_channel(engine, watchlist, channel, rows, now, report, clock):
                    break
                after = rows[-1].alert_id
            else:
                while _send_digest(engine, watchlist, channel, now, report, clock):
                    pass
        except DeliveryError as exc:
            report.failed[name] = str(exc)
    return report


def _page(engine: Engine, channel: str, after: int, due: Any) -> list[Any]:
    with engine.begin() as conn:
        return conn.execute(
            sa.select(deliveries.c.alert_id, deliveries.c.channel, deliveries.c.status, deliveries.c.attempts,
                      alerts.c.severity, alerts.c.rule, alerts.c.payload, alerts.c.outlets, alerts.c.created_at)
            .join(alerts, alerts.c.id == deliveries.c.alert_id)
            .where(deliveries.c.channel == channel, deliveries.c.status.in_([PAGE, SENDING]), due, deliveries.c.alert_id > after)
            .order_by(deliveries.c.alert_id)
            .limit(PAGE_SIZE)
        ).all()


def _drain_channel(
    engine: Engine, wl: Watchlist, channel: Channel, rows: list[Any], now: datetime, report: DeliveryReport,
    clock: Callable[[], datetime],
) -> bool:
    """Send one page of a channel's pages; False if the channel failed (stop trying it for now)."""
    digest_severities = set(wl.delivery.digest)
    rules = {r.id: r for r in wl.rules}
    limited = wl.delivery.rate_limit is not None
    pages_this_hour = _sent_pages_since(engine, channel.name, now - timedelta(hours=1)) if limited else 0
    cooling = wl.delivery.cooldown is not None or any(r.cooldown for r in wl.rules)
    recent = _recent_pages(engine, channel.name, now) if cooling else []
    for start in range(0, len(rows), CLAIM):
        chunk = [r for r in rows[start : start + CLAIM] if r.status in (PAGE, SENDING)]
        claimed = _claim(engine, chunk, channel.name, now, clock)
        mine = sorted((r for r in chunk if r.alert_id in claimed), key=lambda r: -_rank(r.severity))  # most severe first
        with _Lease(engine, channel.name, SENDING, claimed, clock):
            for n, row in enumerate(mine):
                alert = {**row.payload, "outlets": row.outlets}
                rule = rules.get(row.rule)
                cooldown = (rule.cooldown if rule and rule.cooldown else None) or wl.delivery.cooldown
                if row.severity in digest_severities:
                    _set(engine, row.alert_id, channel.name, status=DIGEST, next_attempt_at=None)
                    report.for_digest += 1
                    continue
                if cooldown and any(r == row.rule and t >= now - cooldown and set(a) & set(alert["actors"]) for r, a, t in recent):
                    _set(engine, row.alert_id, channel.name, status=HELD, next_attempt_at=None, last_error="held by the rule's cool-down")
                    report.held += 1
                    continue
                if limited and pages_this_hour >= wl.delivery.rate_limit:  # type: ignore[operator]
                    _set(engine, row.alert_id, channel.name, status=HELD, next_attempt_at=None, last_error="held by the channel's rate limit")
                    report.held += 1
                    continue
                try:
                    channel.send([alert])
                except DeliveryError as exc:
                    _failed(engine, [row], channel.name, str(exc), now, PAGE)
                    _release(engine, mine[n + 1 :], channel.name)
                    report.failed[channel.name] = str(exc)
                    return False
                _set(engine, row.alert_id, channel.name, status=SENT, sent_at=now, last_error=None)
                report.sent += 1
                pages_this_hour += 1
                recent.append((row.rule, alert["actors"], now))
    return True


def _rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else 0


def _send_digest(
    engine: Engine, wl: Watchlist, channel: Channel, now: datetime, report: DeliveryReport, clock: Callable[[], datetime]
) -> bool:
    """Send one digest (at most ``PAGE_SIZE`` alerts) once the oldest waiting item has waited
    ``digest_every``; True if one was sent."""
    with engine.begin() as conn:
        waiting = conn.execute(
            sa.select(deliveries.c.alert_id, deliveries.c.status, deliveries.c.attempts, deliveries.c.next_attempt_at,
                      alerts.c.payload, alerts.c.outlets, alerts.c.created_at)
            .join(alerts, alerts.c.id == deliveries.c.alert_id)
            .where(deliveries.c.channel == channel.name, deliveries.c.status.in_([DIGEST, HELD, DIGESTING]))
            .where(sa.or_(deliveries.c.next_attempt_at.is_(None), deliveries.c.next_attempt_at <= now))
            .order_by(deliveries.c.alert_id)
            .limit(PAGE_SIZE)
        ).all()
    if not waiting or _aware(min(r.created_at for r in waiting)) > now - wl.delivery.digest_every:
        return False
    claimed = _claim(engine, waiting, channel.name, now, clock, DIGESTING)
    waiting = [r for r in waiting if r.alert_id in claimed]
    if not waiting:
        return False
    try:
        with _Lease(engine, channel.name, DIGESTING, claimed, clock):
            channel.send([{**r.payload, "outlets": r.outlets} for r in waiting], digest=True)
    except DeliveryError as exc:
        _failed(engine, waiting, channel.name, str(exc), now, DIGEST)
        report.failed[channel.name] = str(exc)
        return False
    with engine.begin() as conn:
        conn.execute(
            deliveries.update()
            .where(deliveries.c.channel == channel.name, deliveries.c.alert_id.in_([r.alert_id for r in waiting]))
            .values(status=SENT, sent_at=now)
        )
    report.digests += 1
    return True


def _claim(
    engine: Engine, rows: list[Any], channel: str, now: datetime, clock: Callable[[], datetime], status: str = SENDING
) -> set[int]:
    """Take for this drain the deliveries of ``rows`` that nobody changed since they were read
    and that are due at ``now`` (one statement); the ids taken. Each is leased for ``LEASE``
    from this moment (``clock()``): a drain that dies leaves it due again after that."""
    if not rows:
        return set()
    with engine.begin() as conn:
        return set(conn.execute(
            deliveries.update()
            .where(deliveries.c.channel == channel)
            .where(sa.tuple_(deliveries.c.alert_id, deliveries.c.status).in_([(r.alert_id, r.status) for r in rows]))
            .where(sa.or_(deliveries.c.next_attempt_at.is_(None), deliveries.c.next_attempt_at <= now))
            .values(status=status, next_attempt_at=clock() + LEASE)
            .returning(deliveries.c.alert_id)
        ).scalars())


def _clock(now: datetime) -> Callable[[], datetime]:
    """The drain's time: ``now`` at its start (which tests may set), plus the time it has run."""
    started = time.monotonic()
    return lambda: now + timedelta(seconds=time.monotonic() - started)


class _Lease:
    """While in this block, renew every ``LEASE / 3`` the lease of the deliveries ``ids`` still
    ``status`` (claimed by this drain): a slow channel never lets another drain take them."""

    def __init__(self, engine: Engine, channel: str, status: str, ids: set[int], clock: Callable[[], datetime]) -> None:
        self.engine, self.channel, self.status, self.ids, self.clock = engine, channel, status, sorted(ids), clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew, name="tocsin-lease", daemon=True)

    def __enter__(self) -> _Lease:
        if self.ids:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _renew(self) -> None:
        while not self._stop.wait(LEASE.total_seconds() / 3):
            try:
                with self.engine.begin() as conn:
                    conn.execute(
                        deliveries.update()
                        .where(deliveries.c.channel == self.channel, deliveries.c.status == self.status,
                               deliveries.c.alert_id.in_(self.ids))
                        .values(next_attempt_at=self.clock() + LEASE)
                    )
            except sa.exc.SQLAlchemyError:
                pass  # the store is unreachable for now: try again at the next beat


def _release(engine: Engine, rows: list[Any], channel: str) -> None:
    """Give back claimed deliveries that were not tried, as they were."""
    _set_each(engine, channel, [(r.alert_id, {"status": r.status, "next_attempt_at": None}) for r in rows])


def _set(engine: Engine, alert_id: int, channel: str, **values: Any) -> None:
    _set_each(engine, channel, [(alert_id, values)])


def _set_each(engine: Engine, channel: str, changes: list[tuple[int, dict[str, Any]]]) -> None:
    """Set each delivery's own values (the same columns for all), in one transaction."""
    if changes:
        with engine.begin() as conn:
            conn.execute(
                _update(tuple(sorted(changes[0][1]))),
                [{"alert": alert_id, "channel_": channel, **{f"v_{k}": v for k, v in values.items()}} for alert_id, values in changes],
            )


@lru_cache(maxsize=16)
def _update(columns: tuple[str, ...]) -> sa.Update:
    """One delivery's UPDATE of ``columns``, built once: building it costs more than running it."""
    return (
        deliveries.update()
        .where(deliveries.c.alert_id == sa.bindparam("alert"), deliveries.c.channel == sa.bindparam("channel_"))
        .values({c: sa.bindparam(f"v_{c}") for c in columns})
    )


def _failed(engine: Engine, rows: list[Any], channel: str, reason: str, now: datetime, status: str) -> None:
    """Release claimed deliveries back to ``status``, due again after an exponential back-off."""
    _set_each(engine, channel, [
        (row.alert_id, {"status": status, "attempts": row.attempts + 1, "last_error": reason,
                        "next_attempt_at": now + min(BACKOFF_START * 2**row.attempts, BACKOFF_MAX)})
        for row in rows
    ])


def _sent_pages_since(engine: Engine, channel: str, since: datetime) -> int:
    with engine.begin() as conn:
        return conn.execute(
            sa.select(sa.func.count()).select_from(deliveries)
            .where(deliveries.c.channel == channel, deliveries.c.status == SENT, deliveries.c.sent_at >= since)
        ).scalar() or 0


def _recent_pages(engine: Engine, channel: str, now: datetime) -> list[tuple[str, list[str], datetime]]:
    """(rule, actors, sent_at) of pages sent on the channel in the last day: the longest sensible cool-down."""
    with engine.begin() as conn:
        rows = conn.execute(
            sa.select(alerts.c.rule, alerts.c.payload, deliveries.c.sent_at)
            .join(alerts, alerts.c.id == deliveries.c.alert_id)
            .where(deliveries.c.channel == channel, deliveries.c.status == SENT, deliveries.c.sent_at >= now - timedelta(days=1))
        ).all()
    return [(r.rule, r.payload.get("actors", []), _aware(r.sent_at)) for r in rows]


def _aware(d: datetime) -> datetime:
    """SQLite hands datetimes back naive; they were stored in UTC."""
    return d if d.tzinfo else d.replace(tzinfo=UTC)


def list_alerts(
    engine: Engine, *, rule: str | None = None, min_severity: str | None = None, actor: str | None = None,
    since: datetime | None = None, limit: int = 50,
) -> list[dict[str, Any]]:
    """Recorded alerts, newest first, each with its outlets and per-channel delivery status."""
    from extractors.watchlist import SEVERITIES

    query = sa.select(alerts).order_by(alerts.c.created_at.desc(), alerts.c.id.desc())
    if rule:
        query = query.where(alerts.c.rule == rule)
    if min_severity:
        query = query.where(alerts.c.severity.in_(SEVERITIES[SEVERITIES.index(min_severity):]))
    if since:
        query = query.where(alerts.c.created_at >= since)
    out: list[dict[str, Any]] = []
    with engine.begin() as conn:
        for row in conn.execute(query.limit(limit if not actor else None)):
            if actor and actor not in row.payload.get("actors", []):
                continue
            status = conn.execute(
                sa.select(deliveries.c.channel, deliveries.c.status, deliveries.c.attempts, deliveries.c.last_error)
                .where(deliveries.c.alert_id == row.id).order_by(deliveries.c.channel)
            ).all()
            out.append({
                **row.payload, "id": row.id, "outlets": row.outlets, "created_at": _aware(row.created_at).isoformat(),
                "deliveries": [{"channel": c, "status": s, "attempts": a, "last_error": e} for c, s, a, e in status],
            })
            if len(out) >= limit:
                break
    return out
