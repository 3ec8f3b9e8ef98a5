"""`tocsin extract PATH|URL...`: each article exactly as tocsin reads it (docs/extraction.md), so a
user can see why a page did or did not alert. Files are read as `tocsin scan` reads them; an
address is fetched on the monitor's hardened path (``fetch_page``). No state, nothing sent."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Iterator

from extractors.article import Article
from extractors.errors import ArticleError
from flows.ingest.articles import fetch_page, iter_articles
from flows.ingest.fetch import Fetcher
from flows.settings import allow_private_addresses

FIELDS = ("id", "title", "published", "author", "language", "source", "url", "path", "paragraphs")


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("extract", parents=[common], help="print articles as tocsin reads them (title, date, author, language, paragraphs)")
    p.add_argument("paths", nargs="+", metavar="PATH|URL",
                   help="HTML pages, seed text files, JSON-lines files, directories of them, or http(s) addresses")
    p.add_argument("--format", choices=["jsonl", "text"], default="jsonl",
                   help="jsonl: one JSON object per article (the default); text: a readable block per article")
    p.set_defaults(handler=run, optional_config=("watchlist",))


def run(args: argparse.Namespace) -> int:
    status = 0
    for name, item in _articles(args.paths):
        if isinstance(item, ArticleError):
            print(f"tocsin: {name}: {item}", file=sys.stderr)
            status = 1
        else:
            sys.stdout.write((as_json(item) if args.format == "jsonl" else as_text(item)) + "\n")
    return status


def _articles(given: list[str]) -> Iterator[tuple[str, Article | ArticleError]]:
    for target in given:
        if target.startswith(("http://", "https://")):
            yield target, _fetch(target)
        else:
            yield from ((str(path), item) for path, item in iter_articles([target]))


def _fetch(url: str) -> Article | ArticleError:
    async def get() -> Article:
        async with Fetcher() as fetcher:
            return await fetch_page(fetcher, url, id=url, guard=not allow_private_addresses())

    try:
        return asyncio.run(get())
    except ArticleError as exc:
        return exc


def as_json(article: Article) -> str:
    fields = article.model_dump(mode="json", include=set(FIELDS))
    return json.dumps({k: fields[k] for k in FIELDS}, ensure_ascii=False)


def as_text(article: Article) -> str:
    facts = [(k, getattr(article, k)) for k in ("id", "published", "author", "language", "source", "url", "path")]
    lines = [article.title, *(f"{k}: {v.isoformat() if hasattr(v, 'isoformat') else v}" for k, v in facts if v), ""]
    return "\n".join([*lines, *(f"[{n}] {p}" for n, p in enumerate(article.paragraphs, 1)), ""])
