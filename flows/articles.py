"""Article files on disk: seed text (.txt), HTML pages (.html, .htm) and JSON lines (.jsonl).

``iter_articles`` walks files and directories and yields, for each article or
each problem, ``(path, Article)`` or ``(path, ArticleError)``, so a caller can
report a bad file and go on with the rest. JSON lines stream one line at a time.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path

from pydantic import ValidationError

from extractors.article import Article
from extractors.errors import ArticleError
from extractors.html import extract_html
from extractors.seed import parse_seed

MAX_ARTICLE_BYTES = 10 * 1024 * 1024
SUFFIXES = {".txt", ".html", ".htm", ".jsonl"}


def iter_article_paths(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Files as given (a missing one too: reading it reports it); directories recursively,
    sorted, skipping hidden names and other suffixes."""
    for given in paths:
        p = Path(given)
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                rel = f.relative_to(p).parts
                if f.is_file() and f.suffix.lower() in SUFFIXES and not any(x.startswith(".") for x in rel):
                    yield f
        else:
            yield p


def iter_articles(paths: Iterable[str | Path]) -> Iterator[tuple[Path, Article | ArticleError]]:
    for p in iter_article_paths(paths):
        try:
            if p.suffix.lower() == ".jsonl":
                yield from ((p, a) for a in _jsonl(p))
            else:
                yield p, read_article_file(p)
        except ArticleError as exc:
            yield p, exc


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


def _read(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_ARTICLE_BYTES:
            raise ArticleError(f"file too large ({size / 1e6:.1f} MB; the limit is {MAX_ARTICLE_BYTES / 1e6:.0f} MB)")
        raw = path.read_bytes()
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
