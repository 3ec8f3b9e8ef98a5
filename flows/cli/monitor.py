"""`tocsin monitor --once`: one monitoring pass as a Prefect flow run."""

from __future__ import annotations

import argparse
import json
import sys

from extractors.feedlist import load_feeds
from flows.compiled import load_compiled
from flows.cli.options import FEEDS, WATCHLIST


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("monitor", parents=[WATCHLIST, FEEDS], help="poll feeds, scan new articles, deliver alerts")
    p.add_argument("--once", action="store_true", help="one pass, then exit")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if not args.once:
        print("tocsin: monitor runs one pass with --once; for a schedule use `tocsin serve`", file=sys.stderr)
        return 2
    load_compiled(args.watchlist)
    load_feeds(args.feeds)
    from flows.monitor import monitor, summary_of
    from flows.prefect_server import prefect_api

    with prefect_api():
        state = monitor(watchlist=args.watchlist, feeds=args.feeds, return_state=True)
    summary = summary_of(state)
    if summary is None:  # the run failed before it had a summary
        print(f"tocsin: the monitor run failed: {state.message}", file=sys.stderr)
        return 1
    for feed, reason in summary["feeds"]["failed"].items():
        print(f"tocsin: feed {feed}: {reason}", file=sys.stderr)
    for feed, at in summary["feeds"]["skipped"].items():
        print(f"tocsin: feed {feed}: in back-off, next attempt {at}", file=sys.stderr)
    print(json.dumps(summary, indent=2, default=str))
    if not state.is_completed():
        print(f"tocsin: the monitor run failed: {state.message}", file=sys.stderr)
        return 1
    return 0
