"""Articles from files on disk: seed text (.txt), HTML pages (.html, .htm) and JSON lines
(.jsonl); and from a page's address (``fetch_page``, the monitor's article fetch).

``iter_articles`` walks files and directories and yields, for each article or
each problem, ``(path, Article)`` or ``(path, ArticleError)``, so a caller can
report a bad file and go on with the rest; ``read_articles`` does the same for
files already listed. JSON lines stream one line at a time.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path

from pydantic import ValidationError

from extractors.article import Article
from extractors.errors import ArticleError
from extractors.html import extract_html
from extractors.seed import parse_seed
from flows.ingest.fetch import Fetcher

MAX_ARTICLE_BYTES = 10 * 1024 * 1024
SUFFIXES = {".txt", ".html", ".htm", ".jsonl"}


def iter_article_paths(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Files as given (a missing one too: reading it reports it); directories recursively,
    in name order, skipping hidden names and other suffixes."""
    for given in paths:
        p = Path(given)
        if p.is_dir():
            yield from map(Path, _walk(str(p)))
        else:
            yield p


def _walk(directory: str) -> Iterator[str]:
    """The article files under ``directory``, depth first in name order: the order of sorting
    all their paths. ``scandir`` tells files from directories without a ``stat`` each."""
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir(follow_symlinks=False):
            yield from _walk(entry.path)
        elif entry.is_file() and os.path.splitext(entry.name)[1].lower() in SUFFIXES:
            yield entry.path


def iter_articles(paths: Iterable[str | Path]) -> Iterator[tuple[Path, Article | ArticleError]]:
    return read_articles(iter_article_paths(paths))


def read_articles(files: Iterable[Path]) -> Iterator[tuple[Path, Article | ArticleError]]:
    """``iter_articles`` for files already listed: nothing is walked or checked first."""
    for path in files:
        yield from ((path, item) for item in _articles_in(path))


def _articles_in(path: Path) -> Iterator[Article | ArticleError]:
    """The article of a seed or HTML file, or each line's of a JSON-lines file, or the problem."""
    if path.suffix.lower() == ".jsonl":
        yield from _jsonl(path)
        return
    try:
        yield read_article_file(path)
    except ArticleError as exc:
        yield exc


def read_article_file(path: Path) -> Article:
    """One seed or HTML file as an Article; raises ``ArticleError``."""
    raw = _read(path)
    if path.suffix.lower() in (".html", ".htm"):
        return extract_html(raw, id=path.stem, path=str(path))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ArticleError(f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})") from None
    return parse_seed(text.lstrip("\ufeff"), id=path.stem, path=str(path))


async def fetch_page(fetcher: Fetcher, url: str, *, id: str, guard: bool) -> Article:
    """The article at ``url``, fetched on the hardened path (``guard``: public addresses only) and
    decoded by its HTTP charset, BOM, ``<meta>`` or detection; raises ``ArticleError``."""
    got = await fetcher.get(url, guard=guard)
    if not got.ok:
        raise ArticleError(got.error or f"HTTP {got.status}")
    return await asyncio.to_thread(extract_html, got.body, id=id, url=url, content_type=got.headers.get("content-type"))


def _read(path: Path) -> bytes:
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size > MAX_ARTICLE_BYTES:
                raise ArticleError(f"file too large ({size / 1e6:.1f} MB; the limit is {MAX_ARTICLE_BYTES / 1e6:.0f} MB)")
            raw = f.read()
    except OSError as exc:
        raise ArticleError(f"cannot read: {(exc.strerror or str(exc)).lower()}") from None
    if not raw.strip():
        raise ArticleError("empty file")
    if b"\x00" in raw[:8192]:
        raise ArticleError("binary file, not an article")
    return raw


def _jsonl(path: Path) -> Iterator[Article | ArticleError]:
    """One Article per line: {"id", "title", "body" or "paragraphs", "source", "published", "url"}."""
    try:
        f = path.open("rb")
    except OSError as exc:
        yield ArticleError(f"cannot read: {exc.strerror}")
        return
    with f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            if len(line) > MAX_ARTICLE_BYTES:
                yield ArticleError(f"line {n}: article too large")
                continue
            try:
                obj = json.loads(line)
                if not isinstance(obj, dict):
                    raise ValueError("not a JSON object")
                yield _from_json(obj, default_id=f"{path.stem}-{n}", path=f"{path}:{n}")
            except (ValueError, ValidationError, ArticleError) as exc:
                reason = str(exc).splitlines()[0]
                yield ArticleError(f"line {n}: {reason}")


def _from_json(obj: dict, *, default_id: str, path: str) -> Article:
    paragraphs = obj.get("paragraphs")
    if paragraphs is None:
        paragraphs = [p.strip() for p in str(obj.get("body") or "").splitlines() if p.strip()]
    title = str(obj.get("title") or "").strip()
    if not title and not paragraphs:
        raise ArticleError("no title and no body")
    published = obj.get("published")
    return Article(
        id=str(obj.get("id") or default_id),
        title=title,
        paragraphs=paragraphs,
        source=obj.get("source"),
        published=datetime.fromisoformat(published) if isinstance(published, str) and published else None,
        url=obj.get("url"),
        path=path,
    )
