"""The ``tocsin`` command line (spec §7). One module per command: each adds its
sub-parser and a ``run(args)`` that calls into the module doing the work."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

from extractors.config import ConfigError
from flows.cli import alerts, backfill, check, eval, extract, init, monitor, scan, serve
from flows.cli.options import COMMON
from flows.prefect_server import PrefectServerError, quiet_prefect
from flows.settings import find_config

COMMANDS = [scan, extract, check, eval, monitor, backfill, serve, alerts, init]

DESCRIPTION = """\
tocsin watches news feeds for the actors you follow and for threat language,
and pages you with the sentence that matched, once per story."""

EPILOG = """\
settings (environment):
  TOCSIN_HOME          state, default outputs and starter config (default ~/.tocsin)
  TOCSIN_STATE_URL     the state store, a SQLAlchemy URL (default SQLite in TOCSIN_HOME;
                       postgresql+psycopg://... supported)
  TOCSIN_ALLOW_PRIVATE_ADDRESSES=1
                       fetch article links that resolve to private addresses
  PREFECT_API_URL      a Prefect server to run flows on (default: a local one)
  TOCSIN_UI_PORT       port of the local Prefect server and UI of `tocsin serve` (default 4200)

The watch list and feed list are found by --watchlist/--feeds, then in $TOCSIN_HOME,
then in the current directory; `tocsin init` writes starter copies.
Run `tocsin COMMAND --help` for a command's options."""


def _version() -> str:
    try:
        return version("tocsin")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tocsin", description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"tocsin {_version()}")
    parser.set_defaults(optional_config=())  # a command that reads a config file only when there is one
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(sub, COMMON)
    return parser


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    quiet_prefect()
    args = build_parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _stop)  # systemd's and docker's stop: as Ctrl-C
    try:
        for kind in ("watchlist", "feeds"):
            if kind in vars(args) and kind not in args.optional_config:
                setattr(args, kind, find_config(kind, getattr(args, kind)))
        code = args.handler(args)
        sys.stdout.flush()  # here, so that a closed pipe is caught below
        return code
    except ConfigError as exc:
        for line in exc.errors:
            print(f"tocsin: {line}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"tocsin: {exc}", file=sys.stderr)
        return 2
    except PrefectServerError as exc:
        print(f"tocsin: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("tocsin: stopped", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `tocsin ... | head`: the reader has gone; so do we, quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
