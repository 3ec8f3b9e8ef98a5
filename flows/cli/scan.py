"""`tocsin scan PATH...`: spec §4; no state, nothing sent."""

from __future__ import annotations

import argparse
import sys

from flows.compiled import load_compiled
from flows.ingest.scanfiles import TABLE_HEADER, scan_files


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("scan", parents=[common], help="scan article files and print matches (no state, no alerts sent)")
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="seed text files, HTML pages, JSON-lines files, or directories of them (recursively)")
    p.add_argument("--format", choices=["jsonl", "table"], default="jsonl",
                   help="jsonl: one JSON object per article (spec §4, the default); table: one line per article for people")
    p.add_argument("--jobs", type=int, default=None, help="worker processes (default: one per core)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
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
