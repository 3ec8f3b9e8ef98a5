"""`tocsin scan`: article files in, one output line per article out, in path order.

Large inputs are split into chunks of files scanned by a pool of forked worker
processes (the compiled watch list is inherited, not pickled); output order is
the order of the paths either way.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path

from extractors.errors import ArticleError
from extractors.rules import CompiledWatchlist
from extractors.scan import ScanResult, scan_article
from flows.ingest.articles import iter_article_paths, read_articles

CHUNK = 256  # files per task: big enough to amortize the hand-off (64 gave 15% less), small enough to balance
_compiled: CompiledWatchlist | None = None  # set in the parent before forking


def scan_files(paths: Iterable[str | Path], compiled: CompiledWatchlist, *, fmt: str = "jsonl", jobs: int | None = None) -> Iterator[tuple[str | None, str | None]]:
    """For each article or bad file: the line to print, and the error to report (or None)."""
    global _compiled
    _compiled = compiled
    jobs = jobs or os.cpu_count() or 1
    chunks = _chunks(iter_article_paths(paths))
    if jobs == 1:
        for chunk in chunks:
            yield from _scan_chunk(chunk, fmt)
        return
    first = next(chunks, None)
    if first is None:
        return
    second = next(chunks, None)
    if second is None:  # one chunk: not worth a pool
        yield from _scan_chunk(first, fmt)
        return
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(jobs, initializer=_worker_signals) as pool:
        tasks = ((c, fmt) for c in _prepend([first, second], chunks))
        for lines in pool.imap(_scan_chunk_star, tasks):
            yield from lines


def format_result(result: ScanResult, fmt: str) -> str:
    if fmt == "jsonl":
        return result.model_dump_json()
    actors = fit([f"{a.id}×{a.count}" for a in result.actors], 40)
    alerts = ", ".join(f"{a.rule} ({a.severity})" for a in result.alerts) or "-"
    return f"{_cell(result.id)[:28]:<28} {_cell(result.source or '-')[:20]:<20} {actors[:40]:<40} {alerts}"


def _cell(s: str) -> str:
    """A file's own id or outlet name, with any terminal escape or line break made a space."""
    return "".join(c if c.isprintable() else " " for c in s)


def fit(items: list[str], width: int) -> str:
    """As many whole ``items`` as fit in ``width`` characters, then ``+N`` for the rest: a
    table cell never cuts a name in two."""
    shown: list[str] = []
    for i, item in enumerate(items):
        rest = len(items) - i - 1
        line = ", ".join([*shown, item]) + (f", +{rest}" if rest else "")
        if len(line) > width:
            return (", ".join(shown) + ", " if shown else "") + f"+{len(items) - len(shown)}"
        shown.append(item)
    return ", ".join(shown)


TABLE_HEADER = f"{'id':<28} {'source':<20} {'actors':<40} alerts"


def _worker_signals() -> None:
    """A forked worker inherits the command line's SIGTERM handler, which would turn the pool's
    own SIGTERM at its end into a KeyboardInterrupt traceback; workers take the default, and
    leave Ctrl-C to the parent, which ends the pool."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _scan_chunk(chunk: list[Path], fmt: str) -> list[tuple[str | None, str | None]]:
    assert _compiled is not None
    out: list[tuple[str | None, str | None]] = []
    for path, item in read_articles(chunk):
        if isinstance(item, ArticleError):
            line = json.dumps({"path": str(path), "error": str(item)}) if fmt == "jsonl" else None
            out.append((line, f"{path}: {item}"))
        else:
            out.append((format_result(scan_article(item, _compiled), fmt), None))
    return out


def _scan_chunk_star(args: tuple[list[Path], str]) -> list[tuple[str | None, str | None]]:
    return _scan_chunk(*args)


def _chunks(items: Iterator[Path]) -> Iterator[list[Path]]:
    while chunk := list(islice(items, CHUNK)):
        yield chunk


def _prepend(first: list, rest: Iterator) -> Iterator:  # type: ignore[type-arg]
    yield from first
    yield from rest
