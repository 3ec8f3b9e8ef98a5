"""Failures an operator must see at a glance (docs/deploy.md "When a run fails"): a monitor run
that reads no feed, or fails to deliver, ends Failed (red in the UI, Prefect's failed-run event)
with its summary kept, and the CLI exits 1; a backfill names each unreadable file on the terminal."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
import yaml

from flows.cli import main
from flows.monitor import RunFailed, monitor, summary_of
from flows.store.db import connect
from flows.store.outbox import list_alerts
from tests.feeds_fixtures import rss
from tests.servers import HTTPServer, free_port, respond

pytest_plugins = ["tests.prefect_api"]

THREAT = {"title": "Kataib Hezbollah says US bases will be targeted", "guid": "urn:1",
          "summary": "Kata'ib Hezbollah said all American bases will be targeted."}


def _config(tmp_path: Path, feeds: list[str], channel: str) -> list[str]:
    (tmp_path / "watchlist.yaml").write_text(yaml.safe_dump({
        "version": 1,
        "actors": [{"id": "kataib-hezbollah", "name": "Kata'ib Hezbollah", "kind": "armed-group", "aliases": ["Kataib Hezbollah"]}],
        "lexicons": {"threat": ["will be targeted"]},
        "rules": [{"id": "threat", "title": "Threat", "severity": "high", "query": "kind:armed-group NEAR/15 lexicon:threat"}],
        "channels": {"hook": channel},
    }))
    (tmp_path / "feeds.yaml").write_text(yaml.safe_dump({"version": 1, "feeds": [
        {"id": f"f{n}", "name": f"Feed {n}", "url": url} for n, url in enumerate(feeds)]}))
    return ["--watchlist", str(tmp_path / "watchlist.yaml"), "--feeds", str(tmp_path / "feeds.yaml")]


@pytest.fixture()
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, prefect_api: Any) -> str:
    monkeypatch.setenv("TOCSIN_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TOCSIN_STATE_URL", f"sqlite:///{tmp_path / 'state.db'}")
    return f"sqlite:///{tmp_path / 'state.db'}"


def test_a_monitor_run_that_reads_no_feed_fails_and_the_cli_exits_1(tmp_path: Path, env: str, prefect_api: Any,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    dead = [f"http://127.0.0.1:{free_port()}/feed.xml" for _ in range(3)]
    config = _config(tmp_path, dead, "json://127.0.0.1:9/hook")
    state = monitor(watchlist=config[1], feeds=config[3], state_url=env, return_state=True)
    assert state.is_failed() and "no feed could be read" in state.message
    assert summary_of(state)["feeds"]["by_status"] == {"failed": 3}  # the summary is kept
    summary = prefect_api.artifact("monitor-summary", state.state_details.flow_run_id).data
    assert "3 polled, 3 failed" in summary

    assert main(["monitor", "--once", *config]) == 1  # the feeds now wait in back-off: still nothing read
    err = capsys.readouterr().err
    assert "tocsin: feed f0: in back-off, next attempt" in err
    assert err.rstrip().splitlines()[-1].startswith("tocsin: the monitor run failed: no feed could be read")


def test_a_run_failed_by_tocsin_is_not_logged_again_with_a_traceback(caplog: pytest.LogCaptureFixture) -> None:
    """What Prefect's engine logs on a worker or `tocsin serve` terminal when a flow run raises."""
    log = logging.getLogger("prefect.flow_runs")
    for exc in (RunFailed("no feed could be read", {}), ValueError("a bug")):
        try:
            raise exc
        except Exception:
            log.error("Engine execution exited with unexpected exception", exc_info=True)
    assert [r.exc_info[1].__class__ for r in caplog.records if r.exc_info] == [ValueError]  # a real error keeps its traceback


def test_a_failed_delivery_fails_the_run_and_the_alert_waits(tmp_path: Path, env: str, capsys: pytest.CaptureFixture[str]) -> None:
    web = HTTPServer()
    web.routes["/feed.xml"] = respond(rss([THREAT]))
    web.routes["/hook"] = respond(b"broken", status=500)
    try:
        config = _config(tmp_path, [f"{web.url}/feed.xml"], f"json://127.0.0.1:{web.url.rsplit(':', 1)[1]}/hook")
        assert main(["monitor", "--once", *config]) == 1
    finally:
        web.close()
    out, err = capsys.readouterr()
    assert json.loads(out)["alerts"] == {"high": 1}  # recorded: the next run delivers it
    assert "tocsin: the monitor run failed: delivery to hook failed" in err
    [delivery] = list_alerts(connect(env))[0]["deliveries"]
    assert delivery["status"] != "sent" and delivery["last_error"]
    assert main(["alerts"]) == 0
    assert f"[hook: {delivery['status']} ({delivery['last_error'][:40]}" in capsys.readouterr().out  # the reason, not just "pending"


def test_a_feed_failing_among_working_ones_is_reported_but_not_a_failed_run(tmp_path: Path, env: str) -> None:
    web = HTTPServer()
    web.routes["/feed.xml"] = respond(rss([THREAT]))
    web.routes["/hook"] = respond(b"ok")
    try:
        config = _config(tmp_path, [f"{web.url}/feed.xml", f"http://127.0.0.1:{free_port()}/x"],
                         f"json://127.0.0.1:{web.url.rsplit(':', 1)[1]}/hook")
        state = monitor(watchlist=config[1], feeds=config[3], state_url=env, return_state=True)
    finally:
        web.close()
    assert state.is_completed() and state.result()["feeds"]["by_status"] == {"ok": 1, "failed": 1}


def test_backfill_of_a_missing_directory_is_one_clear_line(tmp_path: Path, env: str, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path, [], "json://127.0.0.1:9/hook")
    assert main(["backfill", str(tmp_path / "nonexistent" / "dir"), config[0], config[1]]) == 1
    err = capsys.readouterr().err
    assert err == f"tocsin: {tmp_path / 'nonexistent' / 'dir'}: cannot read: no such file or directory\n"


def test_backfill_prints_alerts_most_severe_first_and_counts_those_waiting_for_the_digest(
        tmp_path: Path, env: str, capsys: pytest.CaptureFixture[str]) -> None:
    from extractors.watchlist import SEVERITIES

    root = Path(__file__).resolve().parent.parent
    assert main(["backfill", str(root / "seeds"), "--watchlist", str(root / "deployments" / "watchlist.yaml")]) == 0
    out = capsys.readouterr().out
    printed = [line.split("]", 1)[0].lstrip("[").lower() for line in out.splitlines() if line.startswith("[")]
    summary = json.loads(out[out.index("\n{") + 1:])
    assert printed == sorted(printed, key=lambda s: -SEVERITIES.index(s))
    total = sum(summary["alerts"].values())
    sent, waiting = (int(part.split()[0]) for part in summary["delivery"].split(", ")[::3][:2])
    assert len(printed) == sent and sent + waiting == total, summary["delivery"]
