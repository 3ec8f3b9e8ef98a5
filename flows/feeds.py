"""Feed polling: conditional GET, parsing from bytes, new entries as Articles.

feedparser only ever sees bytes fetched here (it never fetches). A malformed
feed still yields its good entries; the problem is kept as a warning on the
feed. Entries already recorded cost no article fetch.
"""

from __future__ import annotations

import asyncio
import hashlib
import multiprocessing
import os
import time
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import feedparser
from sqlalchemy.engine import Engine

from extractors.article import Article
from extractors.errors import ArticleError
from extractors.feedlist import Feed
from extractors.html import extract_html, fragment_paragraphs
from extractors.urls import canonical_url, entry_identity
from flows import feedstate
from flows.entries import known_identities
from flows.fetch import Fetcher, Limits
from flows.settings import allow_private_addresses

SHORT_SUMMARY = 600  # characters: below this, an entry "carries only a summary"
PARALLEL_PARSE_FROM = 50  # feeds due: from this many, parse in worker processes (one per core)
_pool: ProcessPoolExecutor | None = None


def _parsers() -> ProcessPoolExecutor:
    """Worker processes for parsing, started once (spawned: the poller has threads)."""
    global _pool
    if _pool is None:
        _pool = ProcessPoolExecutor(max_workers=os.cpu_count() or 1, mp_context=multiprocessing.get_context("spawn"))
    return _pool


@dataclass(frozen=True)
class PolledItem:
    feed_id: str
    identity: str
    article: Article


@dataclass
class FeedResult:
    feed_id: str
    status: str  # ok | not-modified | failed | backing-off
    reason: str | None = None
    bytes_parsed: int = 0
    entries: int = 0
    new_items: int = 0
    warnings: list[str] = field(default_factory=list)


@dataclass
class PollReport:
    results: list[FeedResult]
    items: list[PolledItem]
    seconds: float = 0.0


async def poll_feeds(feeds: list[Feed], engine: Engine, *, now: datetime | None = None, fetcher: Fetcher | None = None) -> PollReport:
    started = time.perf_counter()
    now = now or datetime.now(UTC)
    states = feedstate.load(engine)
    due = [f for f in feeds if states.get(f.id, feedstate.FeedState()).due(now)]
    results = [FeedResult(f.id, "backing-off", "waiting after repeated failures") for f in feeds if f not in due]
    own = fetcher is None
    fetcher = fetcher or Fetcher(Limits())
    executor = _parsers() if len(due) >= PARALLEL_PARSE_FROM else None
    try:
        polled = await asyncio.gather(*(_poll_one(fetcher, f, states.get(f.id, feedstate.FeedState()), engine, executor) for f in due))
    finally:
        if own:
            await fetcher.aclose()
    feedstate.record(engine, [outcome for _, _, outcome in polled], states, now)
    items = [item for _, feed_items, _ in polled for item in feed_items]
    return PollReport(results + [r for r, _, _ in polled], items, time.perf_counter() - started)


def poll_feeds_sync(feeds: list[Feed], engine: Engine, **kwargs: Any) -> PollReport:
    return asyncio.run(poll_feeds(feeds, engine, **kwargs))


async def _poll_one(
    fetcher: Fetcher, feed: Feed, state: feedstate.FeedState, engine: Engine, executor: Executor | None
) -> tuple[FeedResult, list[PolledItem], feedstate.Outcome]:
    got = await fetcher.get(feed.url, etag=state.etag, last_modified=state.last_modified)
    if got.status == 304:
        ok = feedstate.Outcome(feed.id, feed.url, True, state.etag, state.last_modified)
        return FeedResult(feed.id, "not-modified"), [], ok
    if got.error:
        return FeedResult(feed.id, "failed", got.error), [], feedstate.Outcome(feed.id, feed.url, False, error=got.error)
    parsed = await asyncio.get_running_loop().run_in_executor(
        executor, _parse, feed, got.body, {**got.headers, "content-location": got.url}
    )
    result = FeedResult(feed.id, "ok", bytes_parsed=len(got.body), entries=len(parsed.entries))
    if parsed.failure:
        return FeedResult(feed.id, "failed", parsed.failure, len(got.body)), [], feedstate.Outcome(feed.id, feed.url, False, error=parsed.failure)
    result.warnings += parsed.warnings
    outcome = feedstate.Outcome(feed.id, feed.url, True, got.headers.get("etag"), got.headers.get("last-modified"))
    with engine.begin() as conn:
        known = known_identities(conn, feed.id, [identity for identity, _ in parsed.entries])
    items = []
    for identity, article in parsed.entries:
        if identity in known:
            continue
        if feed.fetch_article and article.url and sum(map(len, article.paragraphs)) < SHORT_SUMMARY:
            article = await _fetch_page(fetcher, feed, article, result)
        items.append(PolledItem(feed.id, identity, article))
    result.new_items = len(items)
    return result, items, outcome


@dataclass
class _Parsed:
    entries: list[tuple[str, Article]]
    warnings: list[str]
    failure: str | None = None


def _parse(feed: Feed, body: bytes, headers: dict[str, str]) -> _Parsed:
    """feedparser on the fetched bytes, and each entry as (identity, Article). Pure CPU: runs in a
    worker process when many feeds are polled."""
    parsed = feedparser.parse(body, response_headers=headers)
    warnings: list[str] = []
    if parsed.bozo and not isinstance(parsed.bozo_exception, feedparser.NonXMLContentType):
        problem = f"{type(parsed.bozo_exception).__name__}: {str(parsed.bozo_exception)[:200]}"
        if not parsed.entries:
            kind = " (an HTML page)" if b"<html" in body[:2048].lower() else ""
            return _Parsed([], [], f"not a feed{kind}: {problem}")
        warnings.append(f"malformed feed, good entries kept: {problem}")
    entries: dict[str, Article] = {}
    for entry in parsed.entries:
        identity = entry_identity(entry)
        article = _article(feed, identity, entry)
        if article is None:
            warnings.append(f"entry {identity[:80]!r} has no title and no text")
        else:
            entries.setdefault(identity, article)
    return _Parsed(list(entries.items()), warnings)


def _article(feed: Feed, identity: str, entry: Any) -> Article | None:
    html = ""
    if entry.get("content"):
        html = max((c.get("value") or "" for c in entry.content), key=len)
    html = html if len(html) >= len(entry.get("summary") or "") else entry.get("summary") or ""
    paragraphs = fragment_paragraphs(html)
    title = " ".join((entry.get("title") or "").split())
    if not title and not paragraphs:
        return None
    link = entry.get("link")
    when = entry.get("published_parsed") or entry.get("updated_parsed")
    return Article(
        id=hashlib.sha256(f"{feed.id}\n{identity}".encode()).hexdigest()[:16],
        title=title or paragraphs[0][:120],
        paragraphs=paragraphs if title else paragraphs[1:],
        source=feed.name,
        published=datetime(*when[:6], tzinfo=UTC) if when else None,
        url=canonical_url(link) if link and link.lower().startswith(("http://", "https://")) else None,
    )


async def _fetch_page(fetcher: Fetcher, feed: Feed, article: Article, result: FeedResult) -> Article:
    """The linked page's text, when it can be had; else the summary as it was."""
    guard = not (feed.allow_private or allow_private_addresses())
    got = await fetcher.get(article.url or "", guard=guard)
    if not got.ok:
        result.warnings.append(f"article {article.url}: {got.error or f'HTTP {got.status}'}")
        return article
    try:
        page = await asyncio.to_thread(extract_html, got.body, id=article.id, url=article.url)
    except ArticleError as exc:
        result.warnings.append(f"article {article.url}: {exc}")
        return article
    if sum(map(len, page.paragraphs)) <= sum(map(len, article.paragraphs)):
        return article
    return Article(**{**article.model_dump(), "paragraphs": page.paragraphs, "published": article.published or page.published})
