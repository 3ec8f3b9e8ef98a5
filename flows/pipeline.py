"""Scan and record a batch of articles: the work both flows do, without Prefect.

``bench/backfill.py`` times this directly, so the flows' overhead can be measured
against it.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from extractors.article import Article
from extractors.errors import ArticleError
from extractors.rules import CompiledWatchlist
from extractors.scan import scan_article
from extractors.watchlist import Watchlist
from flows.ingest.articles import read_articles
from flows.deliver import messages
from flows.deliver.channels import channels_for
from flows.compiled import load_compiled
from flows.store.db import connect
from flows.store.entries import Item, record_batch
from flows.store.feedstate import Validators

if TYPE_CHECKING:
    from flows.ingest.feeds import PolledItem

MAX_ALERT_ROWS = 500  # alert rows a run keeps for its artifact table
MAX_ERRORS = 100  # problem lines a run keeps (all are counted)
ARTICLE_BATCH = 500  # articles recorded per transaction


@dataclass
class BatchStats:
    """Counters of a batch or a whole run; the lists are capped so a run's memory stays flat."""

    articles: int = 0
    new_articles: int = 0
    new_stories: int = 0
    skipped: int = 0  # older than ``since``
    seconds: float = 0.0  # spent reading, scanning and recording (summed over workers)
    error_count: int = 0
    errors: list[str] = field(default_factory=list)
    alerts_by_severity: Counter[str] = field(default_factory=Counter)
    alert_rows: list[dict[str, Any]] = field(default_factory=list)

    def add(self, other: "BatchStats") -> None:
        self.articles += other.articles
        self.new_articles += other.new_articles
        self.new_stories += other.new_stories
        self.skipped += other.skipped
        self.seconds += other.seconds
        self.error_count += other.error_count
        self.errors += other.errors[: max(0, MAX_ERRORS - len(self.errors))]
        self.alerts_by_severity.update(other.alerts_by_severity)
        self.alert_rows += other.alert_rows[: max(0, MAX_ALERT_ROWS - len(self.alert_rows))]

    @property
    def alerts(self) -> int:
        return sum(self.alerts_by_severity.values())


@dataclass(frozen=True)
class Config:
    """What a worker needs to load the watch list and reach the store (picklable)."""

    watchlist: str
    state_url: str | None = None
    rules: tuple[str, ...] | None = None  # restrict to these rule ids


@lru_cache(maxsize=8)
def _load(path: str, mtime: float, rules: tuple[str, ...] | None) -> tuple[Watchlist, CompiledWatchlist]:
    return load_compiled(path, rules)  # ``mtime`` is in the cache key: an edited file is loaded again


def load(config: Config) -> tuple[Watchlist, CompiledWatchlist]:
    """The watch list and its compiled form, compiled once per process and file version."""
    try:
        mtime = os.path.getmtime(config.watchlist)
    except OSError:
        mtime = 0.0  # load_watchlist reports it
    return _load(config.watchlist, mtime, config.rules)


def process_batch(
    config: Config, pairs: list[tuple[str, str, Article]], *, dry_run: bool = False, now: datetime | None = None,
    feeds: Sequence[Validators] = (),
) -> BatchStats:
    """Scan ``(feed_id, identity, article)`` triples and record them (unless ``dry_run``) in one
    transaction, with the validators of ``feeds`` (see ``polled_batches``)."""
    watchlist, compiled = load(config)
    stats = BatchStats(articles=len(pairs))
    items = [Item(feed_id, identity, article, scan_article(article, compiled)) for feed_id, identity, article in pairs]
    if dry_run:
        recorded = [(item, item.result.alerts) for item in items]
    else:
        rules = {r.id: r for r in watchlist.rules}
        results = record_batch(
            connect(config.state_url), items, channels_for=lambda rule: channels_for(watchlist, rules[rule]), now=now,
            feeds=feeds,
        )
        recorded = [(r.item, r.new_alerts) for r in results if r.new]
        stats.new_stories = sum(r.new_story for r in results)
    stats.new_articles = len(recorded)
    names = {a.id: a.name for a in watchlist.actors}
    for item, alerts in recorded:
        for alert in alerts:
            stats.alerts_by_severity[alert.severity] += 1
            if len(stats.alert_rows) < MAX_ALERT_ROWS:
                stats.alert_rows.append(messages.table_row(messages.named(
                    {**alert.model_dump(), "article": {"title": item.article.title, "url": item.article.url, "source": item.article.source}},
                    names)))
    return stats


def polled_batches(
    items: list[PolledItem], validators: list[Validators], size: int = ARTICLE_BATCH
) -> list[tuple[list[tuple[str, str, Article]], list[Validators]]]:
    """A poll's items in batches of ``size``, each with the validators of the feeds whose last
    item it holds: a feed's validators are stored only once all its items are (a feed with
    no item in the poll has had its validators stored by the poll)."""
    triples = [(i.feed_id, i.identity, i.article) for i in items]
    last = {feed_id: n for n, (feed_id, _, _) in enumerate(triples)}
    batches = []
    for start in range(0, len(triples), size):
        end = start + size
        batches.append((triples[start:end], [v for v in validators if start <= last.get(v.feed_id, -1) < end]))
    return batches


def process_files(
    config: Config, paths: Iterable[str | Path], *, dry_run: bool = False, since: datetime | None = None,
    batch: int = ARTICLE_BATCH,
) -> BatchStats:
    """Read, scan and record article files, ``batch`` articles per transaction, so a large
    JSON-lines file streams too. ``since`` skips articles published before it (the file's
    modification time stands in for a missing date; a naive ``since`` is UTC)."""
    started = time.perf_counter()
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    stats, pairs = BatchStats(), []
    for path, item in read_articles(map(Path, paths)):
        if isinstance(item, ArticleError):
            stats.error_count += 1
            if len(stats.errors) < MAX_ERRORS:
                stats.errors.append(f"{path}: {item}")
        elif since is not None and _when(item, path) < since:
            stats.skipped += 1
        else:
            pairs.append(("files", item.path or str(path), item))
            if len(pairs) >= batch:
                stats.add(process_batch(config, pairs, dry_run=dry_run))
                pairs = []
    if pairs:
        stats.add(process_batch(config, pairs, dry_run=dry_run))
    stats.seconds = time.perf_counter() - started
    return stats


def _when(article: Article, path: Path) -> datetime:
    if article.published is not None:
        p = article.published
        return p if p.tzinfo else p.replace(tzinfo=UTC)
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, UTC)
    except OSError:
        return datetime.max.replace(tzinfo=UTC)
