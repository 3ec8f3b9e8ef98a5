"""The ``tocsin`` command line (spec §7). Each command is a small function that
parses nothing itself and calls into the module that does the work."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from collections.abc import Sequence

from extractors.config import ConfigError
from extractors.feedlist import load_feeds
from extractors.watchlist import SEVERITIES, parse_duration
from flows.compiled import load_compiled
from flows.scanfiles import TABLE_HEADER, scan_files
from flows.settings import DEFAULT_FEEDS, DEFAULT_WATCHLIST


def cmd_scan(args: argparse.Namespace) -> int:
    _, compiled = load_compiled(args.watchlist)
    status = 0
    if args.format == "table":
        print(TABLE_HEADER)
    for line, error in scan_files(args.paths, compiled, fmt=args.format, jobs=args.jobs):
        if error is not None:
            print(f"tocsin: {error}", file=sys.stderr)
            status = 1
        if line is not None:
            sys.stdout.write(line + "\n")
    return status


def cmd_check(args: argparse.Namespace) -> int:
    errors: list[str] = []
    summary: list[str] = []
    try:
        watchlist, _ = load_compiled(args.watchlist)
        summary.append(f"{args.watchlist}: {len(watchlist.actors)} actors, {len(watchlist.rules)} rules")
    except ConfigError as exc:
        errors += exc.errors
    try:
        feeds = load_feeds(args.feeds)
        summary.append(f"{args.feeds}: {len(feeds.feeds)} feeds")
    except ConfigError as exc:
        errors += exc.errors
    for line in errors:
        print(f"tocsin: {line}", file=sys.stderr)
    if errors:
        return 2
    print("ok: " + "; ".join(summary))
    return 0


def cmd_monitor(args: argparse.Namespace) -> int:
    if not args.once:
        print("tocsin: monitor runs one pass with --once; for a schedule use `tocsin serve`", file=sys.stderr)
        return 2
    load_compiled(args.watchlist)
    load_feeds(args.feeds)
    from flows.monitor import monitor

    state = monitor(watchlist=args.watchlist, feeds=args.feeds, return_state=True)
    if not state.is_completed():
        print(f"tocsin: the monitor run failed: {state.message}", file=sys.stderr)
        return 1
    summary = state.result()
    for feed, reason in summary["feeds"]["failed"].items():
        print(f"tocsin: feed {feed}: {reason}", file=sys.stderr)
    print(json.dumps(summary, indent=2, default=str))
    return 0


def cmd_backfill(args: argparse.Namespace) -> int:
    from flows.monitor import backfill, dask_runner
    from flows.pipeline import Config, load

    rules = tuple(r.strip() for r in args.rules.split(",") if r.strip()) if args.rules else None
    load(Config(args.watchlist, rules=rules))
    if args.workers < 1:
        raise ValueError(f"--workers must be at least 1, not {args.workers}")
    flow = backfill.with_options(task_runner=dask_runner(args.dask, args.workers)) if args.dask else backfill
    state = flow(
        path=args.path, watchlist=args.watchlist, dry_run=args.dry_run, since=args.since,
        rules=list(rules) if rules else None, progress=sys.stderr.isatty(), return_state=True,
    )
    if not state.is_completed():
        print(f"tocsin: the backfill run failed: {state.message}", file=sys.stderr)
        return 1
    summary = state.result()
    print(json.dumps(summary, indent=2, default=str))
    if summary["errors"]:
        print(f"tocsin: could not read {summary['errors']} of the files or lines (listed in the run's summary artifact)", file=sys.stderr)
        return 1
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    load_compiled(args.watchlist)
    load_feeds(args.feeds)
    from flows.serve import serve

    return serve(watchlist=args.watchlist, feeds=args.feeds, every=args.every, cron=args.cron)


def cmd_alerts(args: argparse.Namespace) -> int:
    from flows.db import connect
    from flows.outbox import list_alerts

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


def _iso_date(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date: {value!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tocsin", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, handler, help: str) -> argparse.ArgumentParser:  # type: ignore[no-untyped-def]
        p = sub.add_parser(name, help=help)
        p.add_argument("--watchlist", default=str(DEFAULT_WATCHLIST), help="watch-list YAML")
        p.add_argument("--feeds", default=str(DEFAULT_FEEDS), help="feed-list YAML")
        p.set_defaults(handler=handler)
        return p

    p = command("scan", cmd_scan, "scan article files and print matches (no state, no alerts sent)")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--format", choices=["jsonl", "table"], default="jsonl")
    p.add_argument("--jobs", type=int, default=None, help="worker processes (default: one per core)")

    command("check", cmd_check, "validate the watch list and the feed list")

    p = command("monitor", cmd_monitor, "poll feeds, scan new articles, deliver alerts")
    p.add_argument("--once", action="store_true", help="one pass, then exit")

    p = command("backfill", cmd_backfill, "scan a directory of article files as a flow run")
    p.add_argument("path", nargs="?", default="seeds/", metavar="DIR", help="directory, file or glob (default seeds/)")
    p.add_argument("--dry-run", action="store_true", help="scan and report; record and deliver nothing")
    p.add_argument("--since", type=_iso_date, metavar="DATE",
                   help="skip articles published before this ISO date (UTC unless given; a file's mtime if undated)")
    p.add_argument("--rules", help="comma-separated rule ids to run (default: all)")
    p.add_argument("--dask", metavar="ADDRESS", help="run on Dask: `local` for a local cluster, or a scheduler address")
    p.add_argument("--workers", type=int, default=2, help="worker processes of a local Dask cluster (default 2)")

    p = command("serve", cmd_serve, "run the monitor on a schedule")
    when = p.add_mutually_exclusive_group()
    when.add_argument("--every", type=int, default=600, metavar="SECONDS", help="seconds between runs (default 600)")
    when.add_argument("--cron", metavar="EXPR", help='a cron schedule instead, e.g. "*/10 * * * *" (UTC)')

    p = command("alerts", cmd_alerts, "list recorded alerts, newest first")
    p.add_argument("--rule", help="only this rule")
    p.add_argument("--severity", choices=SEVERITIES, help="this severity or higher")
    p.add_argument("--actor", help="only alerts naming this actor id")
    p.add_argument("--since", help="ISO date or a duration back from now: 30m, 24h, 7d")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--format", choices=["table", "jsonl"], default="table")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except ConfigError as exc:
        for line in exc.errors:
            print(f"tocsin: {line}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"tocsin: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
