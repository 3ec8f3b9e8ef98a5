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
    """Fork ``n`` processes running ``target(*args)`` at once; their exit codes."""
    return fork_each(target, [args] * n, timeout)


def fork_each(target: Any, arg_sets: list[tuple[Any, ...]], timeout: float = 120) -> list[int | None]:
    """Fork one process per ``args`` in ``arg_sets``, running ``target(*args)``, all at once; their
    exit codes (None: killed after ``timeout``). Plain ``os.fork``: a multiprocessing child's exit
    fails (code 1, no message) once a Dask cluster has run in this test session."""
    import os
    import signal
    import time
    import traceback

    pids = []
    for args in arg_sets:
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                target(*args)
            except BaseException:
                traceback.print_exc()
                code = 1
            finally:
                os._exit(code)
        pids.append(pid)
    codes: dict[int, int | None] = {}
    deadline = time.monotonic() + timeout
    while len(codes) < len(pids) and time.monotonic() < deadline:
        for pid in pids:
            if pid not in codes and (status := os.waitpid(pid, os.WNOHANG))[0]:
                codes[pid] = os.waitstatus_to_exitcode(status[1])
        time.sleep(0.02)
    for pid in pids:
        if pid not in codes:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            codes[pid] = None
    return [codes[pid] for pid in pids]
