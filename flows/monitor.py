"""The Prefect flows: ``monitor`` (poll, scan, record, deliver) and ``backfill`` (files).

Tasks are coarse: one per batch of feeds or articles, never one per item. Each
run publishes a table artifact of the alerts it raised and a markdown summary.
Overlapping runs cannot page twice: the outbox keys alerts by rule and story.
"""

from __future__ import annotations

import sys
import time
from collections import deque
from collections.abc import Iterator
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NONE

from extractors.feedlist import load_feeds
from flows import outbox
from flows.articles import iter_article_paths
from flows.db import connect
from flows.pipeline import BatchStats, Config, load, process_batch, process_files
from flows.settings import DEFAULT_FEEDS, DEFAULT_WATCHLIST

ARTICLE_BATCH = 200
FILE_CHUNK = 500
WINDOW = 8  # chunks in flight at once: enough to keep a few workers busy, few enough to bound memory


@task(cache_policy=NONE)
def validate(config: Config, feeds: str | None = None) -> None:
    """Load the configuration; a bad one fails the run here, before any work."""
    load(config)
    if feeds is not None:
        load_feeds(feeds)


@task(cache_policy=NONE, retries=2, retry_delay_seconds=10)
def poll(feeds_path: str, state_url: str | None) -> Any:
    from flows.feeds import poll_feeds_sync

    return poll_feeds_sync(load_feeds(feeds_path).feeds, connect(state_url))


@task(cache_policy=NONE)
def scan_and_record(config: Config, pairs: list[Any], dry_run: bool = False) -> BatchStats:
    return process_batch(config, pairs, dry_run=dry_run)


@task(cache_policy=NONE)
def scan_files(config: Config, paths: list[str], dry_run: bool, since: datetime | None) -> BatchStats:
    return process_files(config, paths, dry_run=dry_run, since=since)


@task(cache_policy=NONE, retries=2, retry_delay_seconds=5)
def deliver(config: Config) -> str:
    watchlist, _ = load(config)
    return str(outbox.drain(connect(config.state_url), watchlist))


@flow(name="monitor")
def monitor(watchlist: str = str(DEFAULT_WATCHLIST), feeds: str = str(DEFAULT_FEEDS), state_url: str | None = None) -> dict[str, Any]:
    """Poll every feed, scan and record new articles, deliver new alerts."""
    started = time.perf_counter()
    config = Config(str(Path(watchlist).resolve()), state_url)
    validate(config, str(Path(feeds).resolve()))
    polled = poll(str(Path(feeds).resolve()), state_url)
    t_poll = time.perf_counter() - started
    stats = BatchStats()
    items = [(i.feed_id, i.identity, i.article) for i in polled.items]
    for start in range(0, len(items), ARTICLE_BATCH):
        stats.add(scan_and_record(config, items[start : start + ARTICLE_BATCH]))
    delivery = deliver(config)
    timings = {"poll": t_poll, "total": time.perf_counter() - started}
    feed_lines = [f"- `{r.feed_id}`: {r.status}" + (f" — {r.reason}" if r.reason else "") for r in polled.results]
    _publish("monitor", stats, delivery, timings, feed_lines)
    summary = _summary(stats, delivery, timings)
    summary["feeds"] = {
        "polled": len(polled.results),
        "new_items": len(polled.items),
        "failed": {r.feed_id: r.reason for r in polled.results if r.status == "failed"},
        "warnings": {r.feed_id: r.warnings[:5] for r in polled.results if r.warnings},
    }
    get_run_logger().info("monitor: %s", summary)
    return summary


@flow(name="backfill", task_runner=ThreadPoolTaskRunner(max_workers=1))
def backfill(
    path: str = "seeds/", watchlist: str = str(DEFAULT_WATCHLIST), dry_run: bool = False, since: datetime | None = None,
    rules: list[str] | None = None, state_url: str | None = None, chunk: int = FILE_CHUNK, progress: bool = False,
) -> dict[str, Any]:
    """Scan a directory (or glob) of article files; record and deliver like ``monitor`` unless ``dry_run``."""
    started = time.perf_counter()
    config = Config(str(Path(watchlist).resolve()), state_url, tuple(rules) if rules else None)
    validate(config)
    stats = BatchStats()
    in_flight: deque[Any] = deque()  # a bounded window keeps memory flat however many files
    for paths in _chunks(path, chunk):
        in_flight.append(scan_files.submit(config, paths, dry_run, since))
        if len(in_flight) >= WINDOW:
            stats.add(in_flight.popleft().result())
            _progress(stats, progress)
    while in_flight:
        stats.add(in_flight.popleft().result())
        _progress(stats, progress)
    if progress:
        sys.stderr.write("\n")
    delivery = "dry run: nothing delivered" if dry_run else deliver(config)
    timings = {"total": time.perf_counter() - started}
    _publish("backfill", stats, delivery, timings, [f"- {e}" for e in stats.errors[:50]])
    summary = _summary(stats, delivery, timings)
    get_run_logger().info("backfill: %s", summary)
    return summary


def dask_runner(address: str, workers: int = 2):  # type: ignore[no-untyped-def]
    """A Dask task runner: ``local`` starts a LocalCluster of ``workers`` processes; anything
    else is the address of an existing scheduler."""
    from prefect_dask import DaskTaskRunner

    if address == "local":
        return DaskTaskRunner(cluster_kwargs={"n_workers": workers, "processes": True, "threads_per_worker": 1, "dashboard_address": None})
    return DaskTaskRunner(address=address)


def _progress(stats: BatchStats, show: bool) -> None:
    if show:
        sys.stderr.write(f"\r{stats.articles} articles, {stats.new_articles} new, {stats.alerts} alerts, {len(stats.errors)} errors")
        sys.stderr.flush()


def _chunks(path: str, size: int) -> Iterator[list[str]]:
    paths = iter_article_paths(_expand(path))
    while chunk := [str(p) for p in islice(paths, size)]:
        yield chunk


def _expand(path: str) -> list[Path]:
    if any(c in path for c in "*?["):
        return sorted(Path().glob(path))
    return [Path(path)]


def _summary(stats: BatchStats, delivery: str, timings: dict[str, float]) -> dict[str, Any]:
    return {
        "articles": stats.articles, "new_articles": stats.new_articles, "new_stories": stats.new_stories,
        "alerts": dict(stats.alerts_by_severity), "errors": len(stats.errors), "delivery": delivery,
        "seconds": round(timings["total"], 2),
    }


def _publish(kind: str, stats: BatchStats, delivery: str, timings: dict[str, float], details: list[str]) -> None:
    create_table_artifact(
        key=f"{kind}-alerts", table=stats.alert_rows or [{"rule": "", "severity": "", "actors": "", "outlet": "", "link": ""}],
        description=f"Alerts raised by this {kind} run",
    )
    severities = ", ".join(f"{k}: {v}" for k, v in sorted(stats.alerts_by_severity.items())) or "none"
    lines = [
        f"# tocsin {kind}",
        f"- articles read: {stats.articles}; new: {stats.new_articles}; new stories: {stats.new_stories}",
        f"- alerts by severity: {severities}",
        f"- delivery: {delivery}",
        "- timings: " + ", ".join(f"{k} {v:.2f} s" for k, v in timings.items()),
    ]
    if details:
        lines += ["", "## Feeds" if kind == "monitor" else "## Problems", *details]
    create_markdown_artifact(key=f"{kind}-summary", markdown="\n".join(lines), description=f"tocsin {kind} summary")
