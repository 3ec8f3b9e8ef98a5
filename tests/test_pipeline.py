"""The pipeline without Prefect: scan and record batches of articles and files."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from flows import pipeline
from flows.store.db import connect
from flows.store.outbox import list_alerts
from flows.pipeline import BatchStats, Config, load, process_files
from tests.helpers import write_watchlist

RULES = [
    {"id": "threat", "title": "Threat", "severity": "high", "query": "kind:armed-group NEAR/15 lexicon:threat"},
    {"id": "denial", "title": "Denial", "severity": "low", "query": "kind:state NEAR/10 lexicon:denial"},
]


@pytest.fixture()
def config(tmp_path: Path) -> Config:
    return Config(str(write_watchlist(tmp_path, RULES)), f"sqlite:///{tmp_path / 'state.db'}")


def _jsonl(path: Path, dates: list[str | None]) -> Path:
    lines = []
    for k, date in enumerate(dates):
        claim = "Hezbollah threatened to strike" if k % 2 == 0 else "Iran denied any role"
        lines.append(json.dumps({"id": f"a{k}", "title": f"{claim}, case {k}", "body": " ".join(f"w{k}x{j}" for j in range(30)),
                                 "published": date, "source": "Wire", "url": f"https://example.org/{k}"}))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_files_are_recorded_once_in_bounded_batches(config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    feed = _jsonl(tmp_path / "a.jsonl", [None] * 7)
    sizes: list[int] = []
    real = pipeline.process_batch
    monkeypatch.setattr(pipeline, "process_batch", lambda c, pairs, **kw: sizes.append(len(pairs)) or real(c, pairs, **kw))
    stats = process_files(config, [feed], batch=3)
    assert sizes == [3, 3, 1]
    assert (stats.articles, stats.new_articles, stats.new_stories) == (7, 7, 7)
    assert stats.alerts_by_severity == {"high": 4, "low": 3}
    assert {(r["rule"], r["outlet"]) for r in stats.alert_rows} == {("threat", "Wire"), ("denial", "Wire")}
    assert len(list_alerts(connect(config.state_url))) == 7
    again = process_files(config, [feed])
    assert (again.articles, again.new_articles, again.alerts) == (7, 0, 0)


def test_dry_run_scans_and_records_nothing(config: Config, tmp_path: Path) -> None:
    stats = process_files(config, [_jsonl(tmp_path / "a.jsonl", [None] * 4)], dry_run=True)
    assert stats.alerts_by_severity == {"high": 2, "low": 2}
    assert list_alerts(connect(config.state_url)) == []


def test_since_skips_older_articles_by_date_or_file_time(config: Config, tmp_path: Path) -> None:
    dated = _jsonl(tmp_path / "dated.jsonl", ["2024-01-01T00:00:00+00:00", "2024-06-01T12:00:00", None, "2024-01-01T01:00:00+02:00"])
    old = datetime(2020, 1, 1, tzinfo=UTC).timestamp()
    os.utime(dated, (old, old))  # the undated line falls back to the file's time: skipped
    stats = process_files(config, [dated], since=datetime(2024, 1, 1))
    assert (stats.articles, stats.skipped) == (2, 2)  # 01:00+02:00 is 2023-12-31T23:00Z: skipped


def test_rules_restrict_the_run(config: Config, tmp_path: Path) -> None:
    only = Config(config.watchlist, config.state_url, ("denial",))
    stats = process_files(only, [_jsonl(tmp_path / "a.jsonl", [None] * 4)])
    assert stats.alerts_by_severity == {"low": 2}
    with pytest.raises(ValueError, match="no such rule: nosuch"):
        load(Config(config.watchlist, rules=("denial", "nosuch")))


def test_unreadable_files_are_counted_and_the_rest_go_on(config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "MAX_ERRORS", 2)
    for n in range(3):
        (tmp_path / f"bad{n}.txt").write_bytes(b"")
    good = _jsonl(tmp_path / "good.jsonl", [None])
    stats = process_files(config, [tmp_path / "bad0.txt", tmp_path / "bad1.txt", tmp_path / "missing.html", good])
    assert stats.articles == 1 and stats.error_count == 3 and len(stats.errors) == 2
    assert stats.errors[0] == f"{tmp_path / 'bad0.txt'}: empty file"


def test_stats_keep_counting_past_their_capped_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "MAX_ALERT_ROWS", 3)
    total = BatchStats()
    for _ in range(2):
        part = BatchStats(articles=2, error_count=1, errors=["e"], alert_rows=[{"rule": "r"}] * 2)
        part.alerts_by_severity["high"] += 2
        total.add(part)
    assert (total.articles, total.alerts, len(total.alert_rows), total.error_count, total.errors) == (4, 4, 3, 2, ["e", "e"])


def test_a_backfill_cuts_its_files_in_chunks_and_the_last_ones_in_eight(tmp_path: Path) -> None:
    from flows.monitor import _chunks

    for i in range(45):
        (tmp_path / f"{i:02d}.txt").write_text("Title\nBody.\n")
    sizes = [len(c) for c in _chunks(str(tmp_path), 20)]
    assert sizes == [20, 4, 4, 4, 4, 4, 4, 1]  # the last 25 files in 8 pieces at most
    assert [len(c) for c in _chunks(str(tmp_path / "00.txt"), 20)] == [1]
    flat = [p for c in _chunks(str(tmp_path), 20) for p in c]
    assert flat == sorted(str(p) for p in tmp_path.iterdir())
