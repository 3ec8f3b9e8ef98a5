"""Settings read from the environment (spec §7)."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_WATCHLIST = Path("deployments/watchlist.yaml")
DEFAULT_FEEDS = Path("deployments/feeds.yaml")


def tocsin_home() -> Path:
    """``$TOCSIN_HOME`` (default ``~/.tocsin``), created on first use."""
    home = Path(os.environ.get("TOCSIN_HOME") or Path.home() / ".tocsin").expanduser()
    home.mkdir(parents=True, exist_ok=True)
    return home


def state_url() -> str:
    """``$TOCSIN_STATE_URL``, else a SQLite file in ``$TOCSIN_HOME``."""
    return os.environ.get("TOCSIN_STATE_URL") or f"sqlite:///{tocsin_home() / 'state.db'}"


def allow_private_addresses() -> bool:
    return os.environ.get("TOCSIN_ALLOW_PRIVATE_ADDRESSES", "") == "1"
