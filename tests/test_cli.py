"""The command line as an operator meets it: help, version, finding the config from anywhere,
`tocsin init`, filters that say what is wrong, and tables that never cut a name in two."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from flows.cli import main
from flows.cli.alerts import since_time
from flows.ingest.scanfiles import fit
from tests.helpers import ROOT, SEED, write_watchlist

pytest_plugins = ["tests.prefect_api"]


def tocsin(*args: str, cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    """The installed-style command, run from ``cwd`` with ``TOCSIN_HOME=home``."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TOCSIN_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "flows.cli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_version_and_help_speak_to_users(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit:
        main(["--version"])
    assert exit.value.code == 0
    assert capsys.readouterr().out.startswith("tocsin 0.")
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "One module per command" not in out and "pages you with the sentence that matched" in out
    for setting in ("TOCSIN_HOME", "TOCSIN_STATE_URL", "tocsin init"):
        assert setting in out


@pytest.mark.parametrize("command", ["scan", "backfill", "alerts", "init"])
def test_feeds_is_offered_only_where_it_is_read(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main([command, "--help"])
    assert "--feeds" not in capsys.readouterr().out


def test_scan_path_and_format_have_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["scan", "--help"])
    out = capsys.readouterr().out
    assert "directories of them" in out and "spec §4" in out


def test_outside_the_checkout_check_says_where_it_looked_then_init_makes_it_work(tmp_path: Path) -> None:
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    elsewhere.mkdir()
    failed = tocsin("check", cwd=elsewhere, home=home)
    assert failed.returncode == 2
    [line] = failed.stderr.splitlines()
    assert str(home / "watchlist.yaml") in line and "deployments/watchlist.yaml" in line and "tocsin init" in line
    made = tocsin("init", cwd=elsewhere, home=home)
    assert made.returncode == 0, made.stderr
    assert (home / "watchlist.yaml").read_text() == (ROOT / "deployments" / "watchlist.yaml").read_text()
    ok = tocsin("check", cwd=elsewhere, home=home)
    assert ok.returncode == 0 and str(home / "feeds.yaml") in ok.stdout
    again = tocsin("init", cwd=elsewhere, home=home)
    assert "kept" in again.stdout  # an edited file is never overwritten without --force


def test_the_current_directory_is_searched_after_tocsin_home(tmp_path: Path) -> None:
    shutil.copyfile(ROOT / "deployments" / "feeds.yaml", tmp_path / "feeds.yaml")
    write_watchlist(tmp_path, [{"id": "r", "title": "R", "severity": "high", "query": "threat*"}])
    ok = tocsin("check", cwd=tmp_path, home=tmp_path / "empty-home")
    assert ok.returncode == 0, ok.stderr
    assert "watchlist.yaml: 6 actors, 1 rules" in ok.stdout


def test_since_reads_words_durations_and_dates() -> None:
    now = datetime(2026, 12, 2, 15, 30, tzinfo=UTC)
    assert since_time("yesterday", now) == datetime(2026, 12, 1, tzinfo=UTC)
    assert since_time("today", now) == datetime(2026, 12, 2, tzinfo=UTC)
    assert since_time("24h", now) == datetime(2026, 12, 1, 15, 30, tzinfo=UTC)
    assert since_time("2026-11-30", now) == datetime(2026, 11, 30, tzinfo=UTC)


def test_a_bad_since_is_one_clear_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit:
        main(["alerts", "--since", "last tuesday"])
    assert exit.value.code == 2
    err = capsys.readouterr().err
    assert "not a date or a duration: 'last tuesday'" in err and "Traceback" not in err


def test_unknown_rule_or_actor_is_named_with_the_near_ones(capsys: pytest.CaptureFixture[str]) -> None:
    watchlist = str(ROOT / "deployments" / "watchlist.yaml")
    assert main(["alerts", "--rule", "armed-grop-threat", "--watchlist", watchlist]) == 2
    assert "did you mean armed-group-threat" in capsys.readouterr().err
    assert main(["alerts", "--actor", "kataib-hezbolah", "--watchlist", watchlist]) == 2
    assert "did you mean kataib-hezbollah" in capsys.readouterr().err
    assert main(["alerts", "--rule", "armed-group-threat", "--watchlist", watchlist]) == 0
    assert capsys.readouterr().err == "no alerts recorded that match these filters\n"


def test_table_cells_keep_whole_names() -> None:
    actors = ["iran-backed-militias×2", "israel×17", "hezbollah×3", "iran×9"]
    assert fit(actors, 40) == "iran-backed-militias×2, israel×17, +2"
    assert fit(actors[:2], 40) == "iran-backed-militias×2, israel×17"
    assert fit(["x" * 50], 40) == "+1"


def test_scan_table_never_cuts_an_actor_mid_word(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", str(SEED), "--format", "table", "--watchlist", str(ROOT / "deployments" / "watchlist.yaml")]) == 0
    row = capsys.readouterr().out.splitlines()[1]
    cell = row[50:91].strip()
    for name in cell.split(", "):
        assert name.startswith("+") or "×" in name, row


def test_backfill_dry_run_lists_the_alerts_it_would_raise(tmp_path: Path, prefect_api: Any, capsys: pytest.CaptureFixture[str]) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copyfile(SEED, corpus / SEED.name)
    watchlist = str(ROOT / "deployments" / "watchlist.yaml")
    assert main(["backfill", str(corpus), "--dry-run", "--watchlist", watchlist]) == 0
    out = capsys.readouterr().out
    listed = out.split("{", 1)[0]
    assert "would be raised" in listed
    lines = [line.split() for line in listed.splitlines()[1:] if line.strip()]
    assert ["high", "armed-group-threat"] in [line[:2] for line in lines]
    severities = [line[0] for line in lines]
    order = ["critical", "high", "medium", "low", "info"]
    assert severities == sorted(severities, key=order.index)  # most severe first
