"""Small builders shared by tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from extractors.article import Article
from extractors.rules import CompiledWatchlist, compile_watchlist
from extractors.watchlist import Watchlist, load_watchlist

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "000_8363b55586722fd7.txt"

ACTORS = [
    {"id": "iran", "name": "Iran", "kind": "state", "aliases": ["Islamic Republic"]},
    {"id": "united-states", "name": "United States", "kind": "state", "aliases": ["U.S."], "exact": ["US"]},
    {"id": "hezbollah", "name": "Hezbollah", "kind": "armed-group", "member_of": ["axis"]},
    {"id": "kataib-hezbollah", "name": "Kata'ib Hezbollah", "kind": "armed-group", "aliases": ["Kataib Hezbollah"], "exact": ["KH"], "member_of": ["iraqi-militias"]},
    {"id": "iraqi-militias", "name": "Iraqi militias", "kind": "coalition", "member_of": ["axis"]},
    {"id": "axis", "name": "Axis of Resistance", "kind": "coalition"},
]
LEXICONS = {"threat": ["threat*", "will be targeted", "vow* to strike"], "denial": ["denied"]}


def write_watchlist(tmp_path: Path, rules: list[dict[str, Any]], **extra: Any) -> Path:
    doc = {"version": 1, "actors": ACTORS, "lexicons": LEXICONS, "rules": rules, **extra}
    path = tmp_path / "watchlist.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def compiled_for(tmp_path: Path, query: str, scope: str = "sentence") -> CompiledWatchlist:
    rule = {"id": "r", "title": "R", "severity": "high", "scope": scope, "query": query}
    return compile_watchlist(load_watchlist(write_watchlist(tmp_path, [rule])))


def article(*paragraphs: str, title: str = "Title") -> Article:
    return Article(id="a", title=title, paragraphs=list(paragraphs))


def watchlist(tmp_path: Path, rules: list[dict[str, Any]]) -> Watchlist:
    return load_watchlist(write_watchlist(tmp_path, rules))


def run_in_processes(target: Any, args: tuple[Any, ...], n: int, timeout: float = 120) -> list[int | None]:
    """Start ``n`` forked processes running ``target(*args)`` at once; their exit codes."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=target, args=args) for _ in range(n)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=timeout)
    return [p.exitcode for p in procs]
