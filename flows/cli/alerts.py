"""`tocsin alerts`: what was recorded and where it was delivered."""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from datetime import UTC, datetime, time, timedelta

from extractors.watchlist import SEVERITIES, parse_duration


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("alerts", parents=[common], help="list recorded alerts, newest first")
    p.add_argument("--rule", help="only this rule id")
    p.add_argument("--severity", choices=SEVERITIES, help="this severity or higher")
    p.add_argument("--actor", help="only alerts naming this actor id")
    p.add_argument("--since", type=since_time, metavar="WHEN",
                   help="an ISO date or time (2026-12-01, 2026-12-01T08:00), a duration back from now (30m, 24h, 7d), today or yesterday")
    p.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    p.add_argument("--format", choices=["table", "jsonl"], default="table",
                   help="table: one line per alert for people (default); jsonl: every recorded field")
    p.set_defaults(handler=run, optional_config=("watchlist",))
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    label = actions.add_parser("label", help="label an alert useful or noise (tocsin eval --feedback scores on these)",
                               description="Record an analyst's judgement of an alert in the state store.")
    label.add_argument("alert", metavar="ALERT_ID", help="the alert's id (first column of `tocsin alerts`) or its key RULE:STORY")
    label.add_argument("label", choices=["useful", "noise"])
    label.add_argument("--note", metavar="TEXT", help="why, for whoever tunes the rules")
    label.set_defaults(handler=run_label)


def since_time(value: str, now: datetime | None = None) -> datetime:
    """``--since``: a start time from an ISO date/time, a duration back from ``now``, ``today``
    or ``yesterday`` (midnight UTC)."""
    now = now or datetime.now(UTC)
    word = value.strip().lower()
    if word in ("today", "yesterday"):
        day = now.date() - timedelta(days=word == "yesterday")
        return datetime.combine(day, time(), UTC)
    try:
        return now - parse_duration(word)
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a date or a duration: {value!r} (use 2026-12-01, 2026-12-01T08:00, 24h, 7d, today or yesterday)"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def run(args: argparse.Namespace) -> int:
    from flows.store.db import connect
    from flows.store.outbox import list_alerts

    _check_ids(args)
    rows = list_alerts(connect(), rule=args.rule, min_severity=args.severity, actor=args.actor, since=args.since, limit=args.limit)
    for a in rows:
        if args.format == "jsonl":
            print(json.dumps(a, default=str))
            continue
        print(_line(a))
    if not rows:
        print("no alerts recorded" + (" that match these filters" if _filtered(args) else ""), file=sys.stderr)
    return 0


def run_label(args: argparse.Namespace) -> int:
    from flows.store.db import connect
    from flows.store.feedback import label_alert

    done = label_alert(connect(), args.alert, args.label, args.note)
    print(f"alert {done['alert']} ({done['key']}) labelled {done['label']}")
    return 0


def _line(a: dict) -> str:  # type: ignore[type-arg]
    """One table line; article text goes through the console escaper (no terminal escapes), and
    a delivery that has not gone out shows why (the stored error is already redacted)."""
    from flows.deliver.messages import text

    def delivery(d: dict) -> str:  # type: ignore[type-arg]
        why = f" ({text(d['last_error'][:80])})" if d.get("last_error") and d["status"] != "sent" else ""
        return f"{text(d['channel'])}: {d['status']}{why}"

    status = ", ".join(delivery(d) for d in a["deliveries"]) or "-"
    also = len(a["outlets"]) - 1
    return (f"{a['id']:>6}  {a['created_at'][:19]}  {a['severity']:<8} {text(a['rule']):<24} {text((a['article'].get('source') or '-')[:18]):<18} "
            f"{text((a['article'].get('title') or '')[:50]):<50} [{status}]" + (f" +{also} outlets" if also > 0 else ""))


def _filtered(args: argparse.Namespace) -> bool:
    return any((args.rule, args.severity, args.actor, args.since))


def _check_ids(args: argparse.Namespace) -> None:
    """An unknown ``--rule`` or ``--actor`` is an error naming the near ones, not a silent empty list.
    Checked against the watch list when there is one to read."""
    if not (args.rule or args.actor):
        return
    from extractors.watchlist import load_watchlist
    from flows.settings import find_config

    try:
        watchlist = load_watchlist(find_config("watchlist", args.watchlist))
    except ValueError:
        if args.watchlist:
            raise
        return  # no watch list here: nothing to check against
    known = {"rule": [r.id for r in watchlist.rules], "actor": [a.id for a in watchlist.actors]}
    for kind, ids in known.items():
        value = getattr(args, kind)
        if value and value not in ids:
            near = difflib.get_close_matches(value, ids, n=3)
            hint = f"; did you mean {' or '.join(near)}?" if near else f"; the {kind}s are: {', '.join(ids[:12])}" + (" …" if len(ids) > 12 else "")
            raise ValueError(f"--{kind}: no {kind} {value!r} in the watch list{hint}")
