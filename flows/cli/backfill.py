"""`tocsin backfill [DIR]`: scan a directory of article files as a Prefect flow run."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("backfill", parents=[common], help="scan a directory of article files as a flow run")
    p.add_argument("path", nargs="?", default="seeds/", metavar="DIR", help="directory, file or glob (default seeds/)")
    p.add_argument("--dry-run", action="store_true", help="scan and report; record and deliver nothing")
    p.add_argument("--since", type=_iso_date, metavar="DATE",
                   help="skip articles published before this ISO date (UTC unless given; a file's mtime if undated)")
    p.add_argument("--rules", help="comma-separated rule ids to run (default: all)")
    p.add_argument("--dask", metavar="ADDRESS", help="run on Dask: `local` for a local cluster, or a scheduler address")
    p.add_argument("--workers", type=int, default=2, help="worker processes of a local Dask cluster (default 2)")
    p.set_defaults(handler=run)


def _iso_date(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date: {value!r}") from None


def _print_would_alert(rows: list[dict], total: int) -> None:
    """A dry run's alerts, most severe first, one line each."""
    from extractors.watchlist import SEVERITIES
    from flows.deliver.messages import text

    print(f"dry run: {total} alert{'s' if total != 1 else ''} would be raised" + (f" (the first {len(rows)} listed)" if len(rows) < total else "") + (":" if rows else ""))
    for row in sorted(rows, key=lambda r: -SEVERITIES.index(r.get("severity", "info"))):
        print(f"  {row.get('severity', ''):<8} {row.get('rule', ''):<28} {text(row.get('outlet') or '-')}  {text(row.get('headline', ''))}  {row.get('link', '')}")


def run(args: argparse.Namespace) -> int:
    from flows.monitor import backfill, dask_runner, summary_of
    from flows.pipeline import Config, load

    rules = tuple(r.strip() for r in args.rules.split(",") if r.strip()) if args.rules else None
    load(Config(args.watchlist, rules=rules))
    if args.workers < 1:
        raise ValueError(f"--workers must be at least 1, not {args.workers}")
    flow = backfill.with_options(task_runner=dask_runner(args.dask, args.workers)) if args.dask else backfill
    from flows.prefect_server import prefect_api

    with prefect_api():
        state = flow(
            path=args.path, watchlist=args.watchlist, dry_run=args.dry_run, since=args.since,
            rules=list(rules) if rules else None, progress=sys.stderr.isatty(), return_state=True,
        )
    summary = summary_of(state)
    if summary is None:  # the run failed before it had a summary
        print(f"tocsin: the backfill run failed: {state.message}", file=sys.stderr)
        return 1
    would = summary.pop("would_alert", None)
    unreadable = summary.pop("unreadable", [])
    if would is not None:
        _print_would_alert(would, total=sum(summary["alerts"].values()))
    print(json.dumps(summary, indent=2, default=str))
    for problem in unreadable:
        print(f"tocsin: {problem}", file=sys.stderr)
    if summary["errors"] > len(unreadable):
        print(f"tocsin: … and {summary['errors'] - len(unreadable)} more unreadable", file=sys.stderr)
    if not state.is_completed():
        print(f"tocsin: the backfill run failed: {state.message}", file=sys.stderr)
        return 1
    return 1 if summary["errors"] else 0
