"""`tocsin check`: validate the watch list and the feed list."""

from __future__ import annotations

import argparse
import sys

from extractors.config import ConfigError
from extractors.feedlist import load_feeds
from flows.compiled import load_compiled
from flows.cli.options import FEEDS, WATCHLIST


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("check", parents=[WATCHLIST, FEEDS], help="validate the watch list and the feed list")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
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
