"""`tocsin alerts`: what was recorded and where it was delivered."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime

from extractors.watchlist import SEVERITIES, parse_duration


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("alerts", parents=[common], help="list recorded alerts, newest first")
    p.add_argument("--rule", help="only this rule")
    p.add_argument("--severity", choices=SEVERITIES, help="this severity or higher")
    p.add_argument("--actor", help="only alerts naming this actor id")
    p.add_argument("--since", help="ISO date or a duration back from now: 30m, 24h, 7d")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--format", choices=["table", "jsonl"], default="table")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from flows.store.db import connect
    from flows.store.outbox import list_alerts

    since = None
    if args.since:
        try:
            since = datetime.now(UTC) - parse_duration(args.since)
        except ValueError:
            since = datetime.fromisoformat(args.since)
    rows = list_alerts(connect(), rule=args.rule, min_severity=args.severity, actor=args.actor, since=since, limit=args.limit)
    for a in rows:
        if args.format == "jsonl":
            print(json.dumps(a, default=str))
            continue
        status = ", ".join(f"{d['channel']}: {d['status']}" for d in a["deliveries"]) or "-"
        also = len(a["outlets"]) - 1
        print(f"{a['created_at'][:19]}  {a['severity']:<8} {a['rule']:<24} {(a['article'].get('source') or '-')[:18]:<18} "
              f"{(a['article'].get('title') or '')[:50]:<50} [{status}]" + (f" +{also} outlets" if also > 0 else ""))
    if not rows:
        print("no alerts recorded", file=sys.stderr)
    return 0
