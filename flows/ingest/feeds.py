"""Feed polling: conditional GET, parsing from bytes, new entries as Articles.

The parsers only ever see bytes fetched here (they never fetch). A malformed
feed still yields its good entries; each problem is kept as a warning on the
feed (``extractors.feedparse``). Entries already recorded cost no article fetch.

Work is bounded: at most ``MAX_NEW_PER_FEED`` new items per feed and ``MAX_NEW_PER_POLL`` per
poll are taken; the rest are held over, never dropped: a feed cut short keeps its old
validators, so the next poll fetches it again and takes the next ones. A feed's new
validators are stored with its items (``PollReport.validators``, recorded by
``entries.record_batch``), never before them.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import time
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Engine

from extractors.article import Article
from extractors.errors import ArticleError
from extractors.feedlist import Feed
from extractors.feedentry import to_article
from extractors.feedparse import parse_feed
from flows.store import feedstate
from flows.store.entries import known_identities
from flows.ingest.articles import fetch_page
from flows.ingest.fetch import Fetcher, Limits
from flows.settings import allow_private_addresses

SHORT_SUMMARY = 600  # characters: below this, an entry "carries only a summary"
MAX_NEW_PER_FEED = 500  # new items taken from one feed in one poll; the rest wait for the next poll
MAX_NEW_PER_POLL = 5000  # new items taken in one poll over all feeds
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
    status: str  # ok | not-modified | failed | skipped-backoff
    reason: str | None = None
    bytes_parsed: int = 0
    entries: int = 0
    new_items: int = 0
    warnings: list[str] = field(default_factory=list)
    next_attempt_at: datetime | None = None  # for a feed in back-off: when it is polled again (UTC)
    held_over: int = 0  # new items left for the next poll (the caps)
    validators: feedstate.Validators | None = None  # to store with this feed's items


@dataclass
class PollReport:
    results: list[FeedResult]
    items: list[PolledItem]
    seconds: float = 0.0

    @property
    def validators(self) -> list[feedstate.Validators]:
        """The validators to store with the items (the feeds that had new items, none held over)."""
        return [r.validators for r in self.results if r.validators is not None]


async def poll_feeds(
    feeds: list[Feed], engine: Engine, *, now: datetime | None = None, limits: Limits | None = None, fetcher: Fetcher | None = None
) -> PollReport:
    """Poll every due feed once (conditional GET, parse, fetch article pages where asked) and
    record each feed's validators or failure. ``fetcher`` (else one made from ``limits``) is for
    callers that share one client, and for tests."""
    started = time.perf_counter()
    now = now or datetime.now(UTC)
    states = feedstate.load(engine)
    due = [f for f in feeds if states.get(f.id, feedstate.FeedState()).due(now)]
    due_ids = {f.id for f in due}
    results = [_skipped(f, states[f.id]) for f in feeds if f.id not in due_ids]
    own = fetcher is None
    fetcher = fetcher or Fetcher(limits or Limits())
    executor = _parsers() if len(due) >= PARALLEL_PARSE_FROM else None
    try:
        polled = await asyncio.gather(*(_poll_guarded(fetcher, f, states.get(f.id, feedstate.FeedState()), engine, executor) for f in due))
    finally:
        if own:
            await fetcher.aclose()
    feedstate.record(engine, [outcome for _, _, outcome in polled], states, now)
    items: list[PolledItem] = []
    for result, feed_items, _ in polled:
        room = max(0, MAX_NEW_PER_POLL - len(items))
        if len(feed_items) > room:
            _hold_over(result, len(feed_items) - room, f"{MAX_NEW_PER_POLL} per poll")
            feed_items = feed_items[:room]
        items += feed_items
    return PollReport(results + [r for r, _, _ in polled], items, time.perf_counter() - started)


def _hold_over(result: FeedResult, count: int, cap: str) -> None:
    """Leave ``count`` new items for the next poll: the feed keeps its old validators."""
    result.held_over += count
    result.new_items -= count
    result.validators = None
    result.warnings.append(f"{count} new items held over to the next poll (at most {cap})")


def poll_feeds_sync(feeds: list[Feed], engine: Engine, **kwargs: Any) -> PollReport:
    """``poll_feeds`` for callers without an event loop."""
    return asyncio.run(poll_feeds(feeds, engine, **kwargs))


def _skipped(feed: Feed, state: feedstate.FeedState) -> FeedResult:
    until = state.next_attempt_at.strftime("%Y-%m-%d %H:%M") if state.next_attempt_at else "later"
    reason = f"{state.failures} failures in a row, next attempt {until}" + (f"; last: {state.last_error}" if state.last_error else "")
    return FeedResult(feed.id, "skipped-backoff", reason, next_attempt_at=state.next_attempt_at)


async def _poll_guarded(
    fetcher: Fetcher, feed: Feed, state: feedstate.FeedState, engine: Engine, executor: Executor | None
) -> tuple[FeedResult, list[PolledItem], feedstate.Outcome]:
    """One feed; whatever goes wrong is that feed's failure, never the poll's."""
    try:
        return await _poll_one(fetcher, feed, state, engine, executor)
    except Exception as exc:  # noqa: BLE001  (a bug or a hostile document must not stop the other feeds)
        reason = f"{type(exc).__name__}: {str(exc)[:200]}"
        return FeedResult(feed.id, "failed", reason), [], feedstate.Outcome(feed.id, feed.url, False, error=reason)


async def _poll_one(
    fetcher: Fetcher, feed: Feed, state: feedstate.FeedState, engine: Engine, executor: Executor | None
) -> tuple[FeedResult, list[PolledItem], feedstate.Outcome]:
    trusted = feed.allow_private or allow_private_addresses()
    got = await fetcher.get(feed.url, etag=state.etag, last_modified=state.last_modified, guard_redirects=not trusted)
    if got.status == 304:
        ok = feedstate.Outcome(feed.id, feed.url, True, got.etag or state.etag, got.last_modified or state.last_modified)
        return FeedResult(feed.id, "not-modified"), [], ok
    if got.error:
        return FeedResult(feed.id, "failed", got.error), [], feedstate.Outcome(feed.id, feed.url, False, error=got.error)
    headers = {**got.headers, "content-location": got.url}
    try:
        parsed = await asyncio.get_running_loop().run_in_executor(executor, _parse, feed, got.body, headers)
    except BrokenProcessPool:  # a worker died (killed, out of memory): start afresh next time
        global _pool
        _pool = None
        parsed = _parse(feed, got.body, headers)
    if parsed.failure:
        return FeedResult(feed.id, "failed", parsed.failure, len(got.body)), [], feedstate.Outcome(feed.id, feed.url, False, error=parsed.failure)
    result = FeedResult(feed.id, "ok", bytes_parsed=len(got.body), entries=len(parsed.entries), warnings=parsed.warnings)
    with engine.begin() as conn:
        known = known_identities(conn, feed.id, [identity for identity, _ in parsed.entries])
    new = [(identity, article) for identity, article in parsed.entries if identity not in known]
    result.new_items = len(new)
    fetched = feedstate.Validators(feed.id, got.etag, got.last_modified)
    if new:  # the new validators wait for the items: stored with them, or not at all
        result.validators = fetched
        fetched = feedstate.Validators(feed.id, state.etag, state.last_modified)
    if len(new) > MAX_NEW_PER_FEED:
        _hold_over(result, len(new) - MAX_NEW_PER_FEED, f"{MAX_NEW_PER_FEED} per feed")
        new = new[:MAX_NEW_PER_FEED]
    if feed.fetch_article:
        new = list(zip([i for i, _ in new], await asyncio.gather(*(_with_page(fetcher, feed, a, result) for _, a in new))))
    outcome = feedstate.Outcome(feed.id, feed.url, True, fetched.etag, fetched.last_modified)
    return result, [PolledItem(feed.id, identity, article) for identity, article in new], outcome


@dataclass
class _Parsed:
    entries: list[tuple[str, Article]]
    warnings: list[str]
    failure: str | None = None


def _parse(feed: Feed, body: bytes, headers: dict[str, str]) -> _Parsed:
    """The fetched bytes as (identity, Article) pairs. Pure CPU: runs in a worker process when
    many feeds are polled."""
    parsed = parse_feed(body, headers)
    articles = [(identity, to_article(e, feed_id=feed.id, feed_name=feed.name, identity=identity)) for identity, e in parsed.entries]
    if feed.language:  # the feed list's language stands for items that declare none (docs/arabic.md)
        articles = [(i, a if a.language else a.model_copy(update={"language": feed.language})) for i, a in articles]
    return _Parsed(articles, parsed.warnings, parsed.failure)


async def _with_page(fetcher: Fetcher, feed: Feed, article: Article, result: FeedResult) -> Article:
    """The article with its linked page's text when it carries only a summary and the page can be
    had; else as it was."""
    if not article.url or sum(map(len, article.paragraphs)) >= SHORT_SUMMARY:
        return article
    guard = not (feed.allow_private or allow_private_addresses())
    try:
        page = await fetch_page(fetcher, article.url, id=article.id, guard=guard)
    except ArticleError as exc:
        result.warnings.append(f"article {article.url}: {exc}")
        return article
    if sum(map(len, page.paragraphs)) <= sum(map(len, article.paragraphs)):
        return article
    return Article(**{
        **article.model_dump(), "paragraphs": page.paragraphs, "published": article.published or page.published,
        "author": article.author or page.author, "language": article.language or page.language,
    })
