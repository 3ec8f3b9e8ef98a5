"""Settings read from the environment (spec §7), and where the configuration files are found."""

from __future__ import annotations

import os
from pathlib import Path

# The watch list and feed list that ship with tocsin: the checkout's deployments/ folder.
BUNDLED = Path(__file__).resolve().parent.parent / "deployments"
CONFIG_FILES = {"watchlist": "watchlist.yaml", "feeds": "feeds.yaml"}


def tocsin_home() -> Path:
    """``$TOCSIN_HOME`` (default ``~/.tocsin``), created on first use."""
    home = _home()
    home.mkdir(parents=True, exist_ok=True)
    return home


def _home() -> Path:
    return Path(os.environ.get("TOCSIN_HOME") or Path.home() / ".tocsin").expanduser()


def state_url() -> str:
    """``$TOCSIN_STATE_URL``, else a SQLite file in ``$TOCSIN_HOME``."""
    return os.environ.get("TOCSIN_STATE_URL") or f"sqlite:///{tocsin_home() / 'state.db'}"


def allow_private_addresses() -> bool:
    return os.environ.get("TOCSIN_ALLOW_PRIVATE_ADDRESSES", "") == "1"


def config_candidates(kind: str) -> list[Path]:
    """Where a ``kind`` ("watchlist" or "feeds") file is looked for when no option names one,
    in order: ``$TOCSIN_HOME``, then the current directory (``./watchlist.yaml``, then a
    checkout's ``./deployments/watchlist.yaml``)."""
    name = CONFIG_FILES[kind]
    return [_home() / name, Path(name), Path("deployments") / name]


def find_config(kind: str, given: str | None) -> str:
    """The ``kind`` file to use: ``given`` (an option), else the first candidate that exists;
    a ``ValueError`` saying where it looked when there is none."""
    if given:
        return given
    candidates = config_candidates(kind)
    for path in candidates:
        if path.is_file():
            return str(path)
    looked = ", ".join(str(p) for p in candidates)
    option = "--watchlist" if kind == "watchlist" else "--feeds"
    raise ValueError(f"no {CONFIG_FILES[kind]} found (looked in {looked}); "
                     f"run `tocsin init` to write the starter files into {_home()}, or pass {option} FILE")

# What a Prefect deployment passes when its parameters name no files (paths on the worker).
DEFAULT_WATCHLIST = Path("deployments/watchlist.yaml")
DEFAULT_FEEDS = Path("deployments/feeds.yaml")
