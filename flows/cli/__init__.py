"""The ``tocsin`` command line (spec §7). One module per command: each adds its
sub-parser and a ``run(args)`` that calls into the module doing the work."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from extractors.config import ConfigError
from flows.cli import alerts, backfill, check, monitor, scan, serve
from flows.settings import DEFAULT_FEEDS, DEFAULT_WATCHLIST

COMMANDS = [scan, check, monitor, backfill, serve, alerts]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tocsin", description=__doc__)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--watchlist", default=str(DEFAULT_WATCHLIST), help="watch-list YAML")
    common.add_argument("--feeds", default=str(DEFAULT_FEEDS), help="feed-list YAML")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add_parser(sub, common)
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
