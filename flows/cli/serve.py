"""`tocsin serve`: the monitor on its schedule."""

from __future__ import annotations

import argparse

from extractors.feedlist import load_feeds
from flows.compiled import load_compiled
from flows.cli.options import FEEDS, WATCHLIST


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("serve", parents=[WATCHLIST, FEEDS], help="run the monitor on a schedule")
    when = p.add_mutually_exclusive_group()
    when.add_argument("--every", type=int, default=600, metavar="SECONDS", help="seconds between runs (default 600)")
    when.add_argument("--cron", metavar="EXPR", help='a cron schedule instead, e.g. "*/10 * * * *" (UTC)')
    p.add_argument("--port", type=int, metavar="PORT",
                   help="port of the local Prefect server and UI (default $TOCSIN_UI_PORT, else 4200; 0: any free port)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    load_compiled(args.watchlist)
    load_feeds(args.feeds)
    from flows.prefect_server import ui_port
    from flows.serve import serve

    return serve(watchlist=args.watchlist, feeds=args.feeds, every=args.every, cron=args.cron, port=ui_port(args.port))
