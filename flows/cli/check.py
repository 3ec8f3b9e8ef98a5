"""`tocsin check`: validate the watch list and the feed list, and run the rules' examples."""

from __future__ import annotations

import argparse
import sys

from extractors.config import ConfigError, read_yaml
from extractors.examples import check_examples
from extractors.feedlist import load_feeds
from flows.compiled import load_compiled
from flows.cli.options import FEEDS, WATCHLIST


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "check", parents=[WATCHLIST, FEEDS],
        help="validate the watch list and the feed list, and run the rules' examples",
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    errors: list[str] = []
    failed: list[str] = []
    summary: list[str] = []
    try:
        watchlist, compiled = load_compiled(args.watchlist)
        total, failures = check_examples(watchlist, compiled)
        if failures:
            doc = read_yaml(args.watchlist)
            failed = [f"{args.watchlist}:{doc.line(f.loc)}: {f.describe()}" for f in failures]
        summary.append(
            f"{args.watchlist}: {len(watchlist.actors)} actors, {len(watchlist.rules)} rules, "
            f"{total - len(failures)} of {total} examples pass"
        )
    except ConfigError as exc:
        errors += exc.errors
    try:
        feeds = load_feeds(args.feeds)
        summary.append(f"{args.feeds}: {len(feeds.feeds)} feeds")
    except ConfigError as exc:
        errors += exc.errors
    for line in errors + failed:
        print(f"tocsin: {line}", file=sys.stderr)
    if errors:
        return 2
    if failed:
        print(f"tocsin: {len(failed)} rule example(s) fail", file=sys.stderr)
        return 1
    print("ok: " + "; ".join(summary))
    return 0
