"""Options shared by several commands, as argparse parent parsers."""

from __future__ import annotations

import argparse

WATCHLIST = argparse.ArgumentParser(add_help=False)
WATCHLIST.add_argument("--watchlist", metavar="FILE",
                       help="watch-list YAML (default: $TOCSIN_HOME/watchlist.yaml, ./watchlist.yaml or ./deployments/watchlist.yaml)")

FEEDS = argparse.ArgumentParser(add_help=False)
FEEDS.add_argument("--feeds", metavar="FILE",
                   help="feed-list YAML (default: $TOCSIN_HOME/feeds.yaml, ./feeds.yaml or ./deployments/feeds.yaml)")

# Spec §7 shares --feeds among all commands; those that read no feed list accept it and ignore it,
# without offering it in their help.
COMMON = argparse.ArgumentParser(add_help=False, parents=[WATCHLIST])
COMMON.add_argument("--feeds", dest="ignored_feeds", help=argparse.SUPPRESS)
