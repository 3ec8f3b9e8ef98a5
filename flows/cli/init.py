"""`tocsin init [DIR]`: write the starter watch list and feed list, so tocsin runs from anywhere."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from flows.settings import BUNDLED, CONFIG_FILES, tocsin_home


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("init", help="write a starter watch list and feed list into $TOCSIN_HOME (or DIR)")
    p.add_argument("dir", nargs="?", metavar="DIR", help="where to write them (default $TOCSIN_HOME)")
    p.add_argument("--force", action="store_true", help="overwrite files that exist")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    target = Path(args.dir).expanduser() if args.dir else tocsin_home()
    target.mkdir(parents=True, exist_ok=True)
    for name in CONFIG_FILES.values():
        source, dest = BUNDLED / name, target / name
        if not source.is_file():
            raise ValueError(f"the starter {name} is not where tocsin was installed from ({source})")
        if dest.exists() and not args.force:
            print(f"kept {dest} (it exists; --force to overwrite)")
            continue
        shutil.copyfile(source, dest)
        print(f"wrote {dest}")
    if args.dir:
        print(f"use them with --watchlist {target / CONFIG_FILES['watchlist']} --feeds {target / CONFIG_FILES['feeds']}, "
              "or set TOCSIN_HOME to that folder")
    print("check them with: tocsin check")
    return 0
