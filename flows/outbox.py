"""The alert outbox: recorded with the article, delivered afterwards, once per rule and story.

``enqueue`` runs inside the transaction that records the article, so an alert
exists exactly when its article does. Its key is ``RULE:STORY``: a second copy
of a story (another outlet) adds to "also reported by" and pages nobody.

``drain`` delivers what is due, one channel at a time. Each delivery is first
claimed (an atomic status change with a lease), so overlapping drains never send
the same one; it is marked sent in its own transaction right after the send
succeeds. A crash between the send and that record is the only way an alert can
go out twice (its lease expires and it is sent again), and nothing can make it
go out zero times. A failing channel is retried with exponential back-off and loses nothing.
Digest severities, cool-downs and rate limits hold deliveries back; held ones go
out in the channel's next digest.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from extractors.article import Article
from extractors.watchlist import Watchlist
from flows.channels import Channel, DeliveryError, resolve
from flows.db import alerts, deliveries, upsert

BACKOFF_START = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=1)
LEASE = timedelta(minutes=5)  # a claimed delivery whose sender died is retried after this
PAGE, DIGEST, HELD, SENT = "pending", "digest", "held", "sent"
SENDING, DIGESTING = "sending", "digesting"  # claimed by one drain; the others leave it alone
PAGE_SIZE = 500  # deliveries read at once, and alerts in one digest message


def _outlet(article: Article) -> dict[str, Any]:
    return {"source": article.source, "url": article.url, "title": article.title}


def enqueue(
    conn: Connection, *, alert: dict[str, Any], article: Article, story_id: int, entry_id: int | None,
    channels: list[str], now: datetime,
) -> int | None:
    """Record ``alert`` (a spec §4 alert object) for delivery to ``channels``; None if this
    rule already fired on this story (then the article is added as another outlet)."""
    key = f"{alert['rule']}:{story_id}"
    payload = {
        **alert,
        "article": {
            "id": article.id, "title": article.title, "url": article.url, "source": article.source,
            "published": article.published.isoformat() if article.published else None,
        },
        "key": key,
    }
    # Values go in as parameters, not inline: inline JSON would defeat the compiled-statement cache.
    stmt = upsert(conn, alerts).on_conflict_do_nothing(index_elements=["key"]).returning(alerts.c.id)
    alert_id = conn.execute(stmt, {
        "key": key, "rule": alert["rule"], "severity": alert["severity"], "story_id": story_id, "entry_id": entry_id,
        "payload": payload, "outlets": [_outlet(article)], "created_at": now, "updated_at": now,
    }).scalar()
    if alert_id is None:
        _add_outlet(conn, alerts.c.key == key, article, now)
        return None
    if channels:
        conn.execute(
            deliveries.insert(),
            [{"alert_id": alert_id, "channel": c, "status": PAGE, "attempts": 0, "next_attempt_at": now} for c in channels],
        )
    return alert_id


def add_outlet(conn: Connection, *, story_id: int, article: Article, now: datetime) -> None:
    """Another outlet carried this story: add it to "also reported by" of the story's alerts."""
    _add_outlet(conn, alerts.c.story_id == story_id, article, now)


_SET_OUTLETS = alerts.update().where(alerts.c.id == sa.bindparam("alert_id")).values(
    outlets=sa.bindparam("outlets", type_=alerts.c.outlets.type), updated_at=sa.bindparam("updated_at")
)


def _add_outlet(conn: Connection, which: sa.ColumnElement[bool], article: Article, now: datetime) -> None:
    outlet = _outlet(article)
    for alert_id, outlets in conn.execute(sa.select(alerts.c.id, alerts.c.outlets).where(which).with_for_update()).all():
        if not any(o.get("url") == outlet["url"] and o.get("source") == outlet["source"] for o in outlets):
            conn.execute(_SET_OUTLETS, {"alert_id": alert_id, "outlets": [*outlets, outlet], "updated_at": now})


@dataclass
class DeliveryReport:
    sent: int = 0
    digests: int = 0
    held: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # channel -> reason (redacted)

    def __str__(self) -> str:
        text = f"{self.sent} sent, {self.digests} digests, {self.held} held"
        return text + "".join(f"; {c} failed: {r}" for c, r in self.failed.items())


def drain(engine: Engine, watchlist: Watchlist, *, now: datetime | None = None) -> DeliveryReport:
    """Deliver every due delivery, channel by channel, a page at a time; return what happened."""
    now = now or datetime.now(UTC)
    report = DeliveryReport()
    due = sa.or_(deliveries.c.next_attempt_at.is_(None), deliveries.c.next_attempt_at <= now)
    with engine.begin() as conn:
        names = conn.execute(
            sa.select(deliveries.c.channel).distinct()
            .where(deliveries.c.status.in_([PAGE, SENDING, DIGEST, HELD]), due).order_by(deliveries.c.channel)
        ).scalars().all()
    for name in names:
        try:
            channel = resolve(watchlist, name)
            after = 0
            while rows := _page(engine, name, after, due):
                if not _drain_channel(engine, watchlist, channel, rows, now, report):
                    break
                after = rows[-1].alert_id
            else:
                while _send_digest(engine, watchlist, channel, now, report):
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


def _drain_channel(engine: Engine, wl: Watchlist, channel: Channel, rows: list[Any], now: datetime, report: DeliveryReport) -> bool:
    """Send one page of a channel's pages; False if the channel failed (stop trying it for now)."""
    digest_severities = set(wl.delivery.digest)
    rules = {r.id: r for r in wl.rules}
    limited = wl.delivery.rate_limit is not None
    pages_this_hour = _sent_pages_since(engine, channel.name, now - timedelta(hours=1)) if limited else 0
    cooling = wl.delivery.cooldown is not None or any(r.cooldown for r in wl.rules)
    recent = _recent_pages(engine, channel.name, now) if cooling else []
    for row in rows:
        if row.status not in (PAGE, SENDING) or not _claim(engine, row, channel.name, now):
            continue
        alert = {**row.payload, "outlets": row.outlets}
        rule = rules.get(row.rule)
        cooldown = (rule.cooldown if rule and rule.cooldown else None) or wl.delivery.cooldown
        if row.severity in digest_severities:
            _set(engine, row.alert_id, channel.name, status=DIGEST, next_attempt_at=None)
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
            report.failed[channel.name] = str(exc)
            return False
        _set(engine, row.alert_id, channel.name, status=SENT, sent_at=now, last_error=None)
        report.sent += 1
        pages_this_hour += 1
        recent.append((row.rule, alert["actors"], now))
    return True


def _send_digest(engine: Engine, wl: Watchlist, channel: Channel, now: datetime, report: DeliveryReport) -> bool:
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
    waiting = [r for r in waiting if _claim(engine, r, channel.name, now, DIGESTING)]
    if not waiting:
        return False
    try:
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


def _claim(engine: Engine, row: Any, channel: str, now: datetime, status: str = SENDING) -> bool:
    """Take the delivery for this drain, if nobody changed it since it was read."""
    with engine.begin() as conn:
        return conn.execute(
            deliveries.update()
            .where(deliveries.c.alert_id == row.alert_id, deliveries.c.channel == channel, deliveries.c.status == row.status)
            .where(sa.or_(deliveries.c.next_attempt_at.is_(None), deliveries.c.next_attempt_at <= now))
            .values(status=status, next_attempt_at=now + LEASE)
        ).rowcount == 1


def _set(engine: Engine, alert_id: int, channel: str, **values: Any) -> None:
    with engine.begin() as conn:
        conn.execute(deliveries.update().where(deliveries.c.alert_id == alert_id, deliveries.c.channel == channel).values(**values))


def _failed(engine: Engine, rows: list[Any], channel: str, reason: str, now: datetime, status: str) -> None:
    """Release claimed deliveries back to ``status``, due again after an exponential back-off."""
    with engine.begin() as conn:
        for row in rows:
            delay = min(BACKOFF_START * 2**row.attempts, BACKOFF_MAX)
            conn.execute(
                deliveries.update()
                .where(deliveries.c.alert_id == row.alert_id, deliveries.c.channel == channel)
                .values(status=status, attempts=row.attempts + 1, next_attempt_at=now + delay, last_error=reason)
            )


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
                **row.payload, "outlets": row.outlets, "created_at": _aware(row.created_at).isoformat(),
                "deliveries": [{"channel": c, "status": s, "attempts": a, "last_error": e} for c, s, a, e in status],
            })
            if len(out) >= limit:
                break
    return out
