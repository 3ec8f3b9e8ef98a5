"""Analysts' feedback on alerts (the ``feedback`` table): ``useful`` or ``noise``, with a note.

``label_alert`` records a label (labelling an alert again replaces its label);
``feedback_counts`` gives them per rule for the run artifacts; ``labelled_articles``
turns them into labelled articles for ``tocsin eval --feedback``: an article should
page when any of its labelled alerts is ``useful``, and not when all are ``noise``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from extractors.article import Article
from extractors.evaluate import Label
from flows.store.db import alerts, article_texts, feedback, upsert, writing

LABELS = ("useful", "noise")


def label_alert(engine: Engine, alert: str, label: str, note: str | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Label the alert ``alert`` (its id, or its key ``RULE:STORY``); raises ``ValueError`` for an
    unknown alert or label. Returns the alert's id, key and rule with the label."""
    if label not in LABELS:
        raise ValueError(f"label must be useful or noise, not {label!r}")
    where = alerts.c.id == int(alert) if alert.isdigit() else alerts.c.key == alert
    with writing(engine) as conn:
        row = conn.execute(sa.select(alerts.c.id, alerts.c.key, alerts.c.rule).where(where)).first()
        if row is None:
            raise ValueError(f"no alert {alert!r} (see `tocsin alerts` for ids)")
        values = {"label": label, "note": note, "labelled_at": now or datetime.now(UTC)}
        stmt = upsert(conn, feedback).values(alert_id=row.id, **values)
        conn.execute(stmt.on_conflict_do_update(index_elements=["alert_id"], set_=values))
    return {"alert": row.id, "key": row.key, "rule": row.rule, "label": label}


def feedback_counts(engine: Engine) -> dict[str, dict[str, int]]:
    """rule -> {"useful": n, "noise": n}, for every rule with a labelled alert."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(alerts.c.rule, feedback.c.label, sa.func.count())
            .join(alerts, alerts.c.id == feedback.c.alert_id).group_by(alerts.c.rule, feedback.c.label)
        ).all()
    counts: dict[str, dict[str, int]] = {}
    for rule, label, n in rows:
        counts.setdefault(rule, dict.fromkeys(LABELS, 0))[label] = n
    return dict(sorted(counts.items()))


def labelled_articles(engine: Engine) -> tuple[list[tuple[Label, Article]], int]:
    """Each article with a labelled alert, as a (label, article) pair; and how many labelled
    alerts have no stored text (recorded before schema version 6), which cannot be re-scanned."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(alerts.c.entry_id, alerts.c.rule, feedback.c.label, feedback.c.note, article_texts.c.article)
            .join(alerts, alerts.c.id == feedback.c.alert_id)
            .outerjoin(article_texts, article_texts.c.entry_id == alerts.c.entry_id)
            .order_by(alerts.c.entry_id, alerts.c.rule)
        ).all()
    by_entry: dict[int, list[Any]] = {}
    missing = 0
    for row in rows:
        if row.article is None:
            missing += 1
        else:
            by_entry.setdefault(row.entry_id, []).append(row)
    out = []
    for entry_id, labelled in by_entry.items():
        article = Article.model_validate(labelled[0].article)
        why = "; ".join(f"{r.rule}: {r.label}" + (f" ({r.note})" if r.note else "") for r in labelled)
        useful = any(r.label == "useful" for r in labelled)
        out.append((Label(id=article.id or str(entry_id), analyst_alert=useful, why=why, category="feedback"), article))
    return out, missing
