"""The Prefect flows: ``monitor`` (poll, scan, record, deliver) and ``backfill`` (files).

Tasks are coarse: one per batch of feeds or articles, never one per item. Each
run publishes a table artifact of the alerts it raised and a markdown summary.
Overlapping runs cannot page twice: the outbox keys alerts by rule and story.
"""

from __future__ import annotations

import glob
import logging
import sys
import time
from collections import Counter, deque
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NONE
from prefect.states import Failed, State

from extractors.feedlist import load_feeds
from extractors.watchlist import SEVERITIES
from flows.deliver import messages
from flows.store import outbox
from flows import settings
from flows.ingest.articles import iter_article_paths
from flows.store.db import connect
from flows.pipeline import BatchStats, Config, load, polled_batches, process_batch, process_files
from flows.settings import DEFAULT_FEEDS, DEFAULT_WATCHLIST

ARTICLE_BATCH = 200
FILE_CHUNK = 2000  # files per task: a Prefect task on Dask costs ~75 ms, so a chunk must carry seconds of work
LAST_SPLIT = 8  # pieces the last chunk is cut into
DELIVER_EVERY = 20.0  # seconds between deliveries during a backfill
SHOWN_ERRORS = 50  # unreadable files named in a backfill's summary
WINDOW = 16  # chunks in flight at once: enough to keep many workers busy, few enough to bound memory


@task(cache_policy=NONE)
def validate(config: Config, feeds: str | None = None) -> str | None:
    """Load the configuration; what is wrong with it (one line per error), or None.
    Returned rather than raised: the run fails on it at once, with no traceback."""
    try:
        load(config)
        if feeds is not None:
            load_feeds(feeds)
    except ValueError as exc:
        return str(exc)
    return None


@task(cache_policy=NONE, retries=2, retry_delay_seconds=10)
def poll(feeds_path: str, state_url: str) -> Any:
    from flows.ingest.feeds import poll_feeds_sync

    return poll_feeds_sync(load_feeds(feeds_path).feeds, connect(state_url))


@task(cache_policy=NONE)
def scan_and_record(config: Config, pairs: list[Any], feeds: list[Any]) -> BatchStats:
    return process_batch(config, pairs, feeds=feeds)


@task(cache_policy=NONE)
def scan_files(config: Config, paths: list[str], dry_run: bool, since: datetime | None) -> BatchStats:
    return process_files(config, paths, dry_run=dry_run, since=since)


@task(cache_policy=NONE, retries=2, retry_delay_seconds=5)
def deliver(config: Config) -> outbox.DeliveryReport:
    watchlist, _ = load(config)
    return outbox.drain(connect(config.state_url), watchlist)


def _invalid(problem: str) -> State:
    get_run_logger().error("invalid configuration:\n%s", problem)
    return Failed(message=f"invalid configuration: {problem}")


@flow(name="monitor")
def monitor(watchlist: str = str(DEFAULT_WATCHLIST), feeds: str = str(DEFAULT_FEEDS), state_url: str | None = None) -> Any:
    """Poll every feed, scan and record new articles, deliver new alerts."""
    clock = _Clock()
    config = Config(str(Path(watchlist).resolve()), state_url or settings.state_url())
    feeds = str(Path(feeds).resolve())
    if problem := validate(config, feeds):
        return _invalid(problem)
    polled = poll(feeds, config.state_url)
    clock.lap("poll")
    stats = BatchStats()
    for pairs, validators in polled_batches(polled.items, polled.validators, ARTICLE_BATCH):
        stats.add(scan_and_record(config, pairs, validators))
    clock.lap("scan and record")
    report = deliver(config)
    delivery = str(report)
    clock.lap("deliver")
    feed_summary, feed_lines = _feed_health(polled)
    _publish("monitor", stats, delivery, clock.laps, feed_lines, _feedback(config))
    summary = _summary(stats, delivery, clock.laps)
    get_run_logger().info("monitor: %s; feeds: %s (every feed: the monitor-feeds artifact)", summary, feed_summary["by_status"])
    summary["feeds"] = feed_summary
    return _outcome("monitor", summary, _no_feed_read(feed_summary) + _failed_deliveries(report))


@flow(name="backfill", task_runner=ThreadPoolTaskRunner(max_workers=1))
def backfill(
    path: str = "seeds/", watchlist: str = str(DEFAULT_WATCHLIST), dry_run: bool = False, since: datetime | None = None,
    rules: list[str] | None = None, state_url: str | None = None, chunk: int = FILE_CHUNK, progress: bool = False,
) -> Any:
    """Scan a directory, file or glob of article files; record and deliver like ``monitor``
    unless ``dry_run`` (scan and report only). Files stream in chunks of ``chunk``, at most
    ``WINDOW`` chunks in flight, so memory stays flat however many there are."""
    clock = _Clock()
    config = Config(str(Path(watchlist).resolve()), state_url or settings.state_url(), tuple(rules) if rules else None)
    if problem := validate(config):
        return _invalid(problem)
    stats, delivered = BatchStats(), outbox.DeliveryReport()
    bar = _Progress(progress)
    in_flight: deque[Any] = deque()
    last_delivery = time.monotonic()

    def finish_one() -> None:
        nonlocal last_delivery
        stats.add(in_flight.popleft().result())
        bar.show(stats)
        # The alerts go out while the next chunks are scanned, not all at the end; every
        # DELIVER_EVERY seconds, as each delivery is a task run, which costs its own time.
        if not dry_run and (not in_flight or time.monotonic() - last_delivery >= DELIVER_EVERY):
            bar.end_line()  # the alerts a channel prints start on a line of their own
            delivered.add(deliver(config))
            last_delivery = time.monotonic()

    for paths in _chunks(path, chunk):
        in_flight.append(scan_files.submit(config, paths, dry_run, since))
        if len(in_flight) >= WINDOW:
            finish_one()
    while in_flight:
        finish_one()
    bar.close()
    clock.lap("scan, record and deliver")
    clock.laps["work in tasks"] = stats.seconds
    delivery = "dry run: nothing recorded or delivered" if dry_run else str(delivered)
    details = [f"- {messages.md(e)}" for e in stats.errors[:SHOWN_ERRORS]]
    if stats.error_count > len(details):
        details.append(f"- … and {stats.error_count - len(details)} more")
    _publish("backfill", stats, delivery, clock.laps, details, _feedback(config))
    summary = _summary(stats, delivery, clock.laps)
    get_run_logger().info("backfill: %s", summary)
    summary["unreadable"] = stats.errors[:SHOWN_ERRORS]  # "path: reason", for the command line
    if dry_run:
        summary["would_alert"] = stats.alert_rows  # what a real run would raise (capped), for the command line
    return _outcome("backfill", summary, _failed_deliveries(delivered))


def _no_feed_read(feeds: dict[str, Any]) -> list[str]:
    """Every feed failed (or waits in back-off after failing): the monitor sees nothing."""
    by_status = feeds["by_status"]
    if feeds["polled"] and set(by_status) <= {"failed", "skipped-backoff"}:
        return [f"no feed could be read ({feeds['polled']} feeds: {dict(by_status)})"]
    return []


def _failed_deliveries(report: outbox.DeliveryReport) -> list[str]:
    return [f"delivery to {channel} failed: {reason}" for channel, reason in report.failed.items()]


class RunFailed(Exception):
    """The exception of a run that did its work but must show red (no feed read, a delivery
    failed); it carries the run's summary, so the command line can still print it."""

    def __init__(self, message: str, summary: dict[str, Any]) -> None:
        super().__init__(message, summary)
        self.message, self.summary = message, summary

    def __str__(self) -> str:
        return self.message


class _SaidInOneLine(logging.Filter):
    """A run failed by :class:`RunFailed` has said why in one ERROR line; Prefect's engine would
    log the same exception again with its traceback ("Engine execution exited with unexpected
    exception") on every worker and ``tocsin serve`` terminal."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], RunFailed))


logging.getLogger("prefect.flow_runs").addFilter(_SaidInOneLine())


def summary_of(state: State) -> dict[str, Any] | None:
    """A finished run's summary, whether it completed or failed with :class:`RunFailed`."""
    result = state.result(raise_on_failure=False)
    if isinstance(result, RunFailed):
        return result.summary
    return result if isinstance(result, dict) else None


def _outcome(kind: str, summary: dict[str, Any], problems: list[str]) -> Any:
    """The summary, or a Failed state carrying it: a run that read no feed or failed to deliver
    an alert is red in the UI, fires Prefect's flow-run-failed events and automations, and makes
    the CLI exit 1. Everything it did get done (alerts recorded, artifacts) stands; undelivered
    alerts stay in the outbox for the next run."""
    if not problems:
        return summary
    summary["problems"] = problems
    message = "; ".join(problems)
    get_run_logger().error("%s run failed: %s", kind, message)
    return Failed(message=message, data=RunFailed(message, summary))


def dask_runner(address: str, workers: int = 2) -> Any:
    """A Dask task runner: ``local`` starts a LocalCluster of ``workers`` processes; anything
    else is the address of an existing scheduler. Its workers report to the flow's Prefect API,
    the ephemeral one included (each would otherwise start a server of its own)."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings
    from prefect_dask import DaskTaskRunner

    class Runner(DaskTaskRunner):
        def __enter__(self) -> Any:
            self._api = ExitStack()
            if not PREFECT_API_URL.value():
                url = str(get_client(sync_client=True).api_url)
                self._api.enter_context(temporary_settings(updates={PREFECT_API_URL: url}))
            return super().__enter__()

        def __exit__(self, *exc: Any) -> None:
            try:
                super().__exit__(*exc)
            finally:
                self._api.close()

    if address == "local":
        return Runner(cluster_kwargs={"n_workers": workers, "processes": True, "threads_per_worker": 1, "dashboard_address": None})
    return Runner(address=address)


class _Clock:
    def __init__(self) -> None:
        self.started = self.last = time.perf_counter()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps.pop("total", None)
        self.laps[name], self.last = now - self.last, now
        self.laps["total"] = now - self.started  # kept last


class _Progress:
    """One self-rewriting line on stderr (when asked, e.g. on a terminal). Other output must
    not run into it: it is ended before a delivery (a console channel prints alerts), and
    the per-task "Finished" log lines are not shown while it is."""

    def __init__(self, show: bool) -> None:
        self.show_it, self.started, self.open = show, time.perf_counter(), False
        self.task_logs = logging.getLogger("prefect.task_runs")
        self.task_level = self.task_logs.level
        if show:
            self.task_logs.setLevel(logging.WARNING)

    def show(self, stats: BatchStats) -> None:
        if self.show_it:
            rate = stats.articles / max(time.perf_counter() - self.started, 1e-9)
            sys.stderr.write(f"\r\033[K{stats.articles:,} articles ({rate:,.0f}/s), {stats.new_articles:,} new, "
                             f"{stats.alerts:,} alerts, {stats.skipped:,} skipped, {stats.error_count:,} errors")
            sys.stderr.flush()
            self.open = True

    def end_line(self) -> None:
        if self.open:
            sys.stderr.write("\n")
            sys.stderr.flush()
            self.open = False

    def close(self) -> None:
        self.end_line()
        if self.show_it:
            self.task_logs.setLevel(self.task_level)


def _chunks(path: str, size: int) -> Iterator[list[str]]:
    """The files under ``path`` in chunks of ``size``; the last full chunk and what follows it in
    ``LAST_SPLIT`` smaller ones, so that parallel workers finish together instead of one running
    the last chunk alone."""
    paths = iter_article_paths(_expand(path))
    chunk = [str(p) for p in islice(paths, size)]
    while chunk:
        following = [str(p) for p in islice(paths, size)]
        if len(following) < size:
            tail = chunk + following
            step = -(-len(tail) // LAST_SPLIT)
            yield from (tail[i : i + step] for i in range(0, len(tail), step))
            return
        yield chunk
        chunk = following


def _expand(path: str) -> list[str]:
    if any(c in path for c in "*?["):
        return sorted(glob.iglob(path, recursive=True)) or [path]  # no match: reported as unreadable
    return [path]


def _summary(stats: BatchStats, delivery: str, timings: dict[str, float]) -> dict[str, Any]:
    return {
        "articles": stats.articles, "new_articles": stats.new_articles, "new_stories": stats.new_stories,
        "skipped": stats.skipped, "alerts": dict(stats.alerts_by_severity), "errors": stats.error_count,
        "delivery": delivery, "seconds": round(timings["total"], 2),
        "timings": {k: round(v, 2) for k, v in timings.items()},
    }


SHOWN_FEEDS = 20  # feeds named in the markdown summary; the table artifact has them all


def _feed_health(polled: Any) -> tuple[dict[str, Any], list[str]]:
    """Every feed's status: the run summary's ``feeds`` part, the markdown lines for the feeds
    that need a look, and a table artifact (``monitor-feeds``) with one row per feed."""
    results = polled.results
    by_status = Counter(r.status for r in results)
    failed = {r.feed_id: r.reason for r in results if r.status == "failed"}
    skipped = {r.feed_id: _when(r.next_attempt_at) for r in results if r.status == "skipped-backoff"}
    create_table_artifact(
        key="monitor-feeds",
        table=[{"feed": r.feed_id, "status": r.status, "entries": r.entries, "new_items": r.new_items,
                "next_attempt": _when(r.next_attempt_at), "reason": r.reason or "",
                "warnings": len(r.warnings), "first_warnings": " | ".join(r.warnings[:5])} for r in results],
        description=f"Every feed polled by this monitor run: {dict(by_status)}",
    )
    attention = [r for r in results if r.status in ("failed", "skipped-backoff")]
    lines = [
        f"- {len(results)} polled, {len(failed)} failed, {len(polled.items)} new items"
        + (f"; {len(skipped)} skipped in back-off" if skipped else ""),
        *(f"- `{r.feed_id}`: {r.status}" + (f" — {messages.md(r.reason)}" if r.reason else "") for r in attention[:SHOWN_FEEDS]),
    ]
    if len(attention) > SHOWN_FEEDS:
        lines.append(f"- … and {len(attention) - SHOWN_FEEDS} more: see the monitor-feeds artifact")
    summary = {
        "polled": len(results),
        "by_status": dict(by_status),
        "new_items": len(polled.items),
        "failed": failed,
        "skipped": skipped,
        "warnings": {r.feed_id: len(r.warnings) for r in results if r.warnings},
    }
    return summary, lines


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ") if at else ""


def _feedback(config: Config) -> dict[str, dict[str, int]]:
    """Analysts' labels per rule so far (``tocsin alerts label``)."""
    from flows.store.feedback import feedback_counts

    return feedback_counts(connect(config.state_url))


def _publish(
    kind: str, stats: BatchStats, delivery: str, timings: dict[str, float], details: list[str],
    feedback: dict[str, dict[str, int]],
) -> None:
    shown = f"the first {len(stats.alert_rows)} of " if len(stats.alert_rows) < stats.alerts else ""
    create_markdown_artifact(
        key=f"{kind}-alerts", markdown=messages.alert_list(stats.alert_rows),
        description=f"Alerts raised by this {kind} run: {shown}{stats.alerts}" if stats.alerts else f"No alerts raised by this {kind} run",
    )
    by_rank = sorted(stats.alerts_by_severity.items(), key=lambda kv: -SEVERITIES.index(kv[0]))
    severities = ", ".join(f"{k}: {v}" for k, v in by_rank) or "none"
    lines = [
        f"# tocsin {kind}",
        f"- articles read: {stats.articles}; new: {stats.new_articles}; new stories: {stats.new_stories}"
        + (f"; skipped (before --since): {stats.skipped}" if stats.skipped else "")
        + (f"; unreadable: {stats.error_count}" if stats.error_count else ""),
        f"- alerts by severity: {severities}",
        f"- delivery: {messages.md(delivery)}",
        "- timings: " + ", ".join(f"{k} {v:.2f} s" for k, v in timings.items()),
    ]
    if feedback:
        lines.append("- analyst feedback (useful/noise): " + ", ".join(f"{r} {c['useful']}/{c['noise']}" for r, c in feedback.items()))
    create_table_artifact(
        key=f"{kind}-feedback", table=[{"rule": r, **c} for r, c in feedback.items()],
        description="Alerts analysts labelled useful or noise (tocsin alerts label), per rule",
    )
    if details:
        lines += ["", "## Feeds" if kind == "monitor" else "## Problems", *details]
    create_markdown_artifact(key=f"{kind}-summary", markdown="\n".join(lines), description=f"tocsin {kind} summary")
