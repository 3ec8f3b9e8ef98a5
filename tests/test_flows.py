"""The Prefect flows on a real Prefect API (prefect_test_harness), against local feeds, SMTP and webhook."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from flows.store.db import connect
from flows.monitor import backfill, monitor
from flows.store.outbox import list_alerts
from tests.conftest import PG_URL, ROOT
from tests.feeds_fixtures import rss
from tests.servers import HTTPServer, SMTPServer, respond

pytest_plugins = ["tests.prefect_api"]

PAGE = (
    "<html><head><meta property='og:site_name' content='Wire {n}'></head><body><article><h1>Story {n}</h1>"
    "<p>Kata'ib Hezbollah said on Monday that all American bases in the region will be targeted after strike {n}.</p>"
    "<p>Officials in Baghdad urged restraint and said talks with the factions were continuing for case {n}.</p>"
    "<p>{filler}</p>"
    "</article></body></html>"
)


@pytest.fixture()
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, prefect_api: Any) -> Iterator[dict[str, Any]]:
    """Feeds with article pages on a local HTTP server, a local SMTP server and webhook, and config files."""
    monkeypatch.setenv("TOCSIN_ALLOW_PRIVATE_ADDRESSES", "1")
    web, smtp = HTTPServer(), SMTPServer()
    web.routes["/hook"] = respond(b"ok")
    for n in range(3):
        filler = " ".join(f"detail{n}x{j}" for j in range(60))
        web.routes[f"/a/{n}"] = respond(PAGE.format(n=n, filler=filler).encode(), headers={"Content-Type": "text/html"})
    web.routes["/feed.xml"] = respond(rss([{"title": f"Story {n}", "guid": f"urn:s{n}", "link": f"{web.url}/a/{n}", "summary": "Short."} for n in range(3)]))
    port = web.url.rsplit(":", 1)[1]
    (tmp_path / "watchlist.yaml").write_text(yaml.safe_dump({
        "version": 1,
        "actors": [{"id": "kataib-hezbollah", "name": "Kata'ib Hezbollah", "kind": "armed-group"}],
        "lexicons": {"threat": ["will be targeted", "threat*"]},
        "rules": [{"id": "threat", "title": "Armed group issues a threat", "severity": "high", "query": "kind:armed-group NEAR/15 lexicon:threat"}],
        "channels": {
            "mail": f"mailto://127.0.0.1:{smtp.port}?from=tocsin@example.org&to=analyst@example.org&mode=insecure",
            "hook": f"json://127.0.0.1:{port}/hook",
        },
    }))
    (tmp_path / "feeds.yaml").write_text(yaml.safe_dump({"version": 1, "feeds": [
        {"id": "wire", "name": "Wire", "url": f"{web.url}/feed.xml", "fetch_article": True},
        {"id": "dead", "name": "Dead", "url": "http://127.0.0.1:9/feed.xml"},
    ]}))
    yield {"web": web, "smtp": smtp, "watchlist": str(tmp_path / "watchlist.yaml"), "feeds": str(tmp_path / "feeds.yaml"),
           "state_url": f"sqlite:///{tmp_path / 'state.db'}"}
    web.close()
    smtp.close()


def run_monitor(world: dict[str, Any], state_url: str | None = None) -> dict[str, Any]:
    return monitor(watchlist=world["watchlist"], feeds=world["feeds"], state_url=state_url or world["state_url"])


def test_monitor_polls_scans_records_delivers_once_and_publishes_artifacts(world: dict[str, Any], prefect_api: Any) -> None:
    state = monitor(watchlist=world["watchlist"], feeds=world["feeds"], state_url=world["state_url"], return_state=True)
    first = state.result()
    assert first["new_articles"] == 3 and first["new_stories"] == 3 and first["alerts"] == {"high": 3}
    assert first["feeds"]["polled"] == 2 and "dead" in first["feeds"]["failed"]
    assert len(world["smtp"].messages) == 3 and len(world["web"].posted_json("/hook")) == 3
    assert any("will be targeted" in m.as_string() for m in world["smtp"].messages)

    run = state.state_details.flow_run_id
    table = prefect_api.artifact("monitor-alerts", run).data  # markdown: one block per alert
    heads = [line for line in table.splitlines() if line.startswith("#### ")]
    assert len(heads) == 3 and all("HIGH · Armed group issues a threat" in h for h in heads)
    assert table.count(" · Kata'ib Hezbollah\n") == 3  # outlet · actors under each headline
    assert all(f"({world['web'].url}/a/{n})" in table for n in range(3)) and "**will be targeted**" in table
    summary = prefect_api.artifact("monitor-summary", run).data
    assert "2 polled, 1 failed, 3 new items" in summary and "`dead`: failed" in summary
    assert "new: 3; new stories: 3" in summary and "alerts by severity: high: 3" in summary and "6 sent" in summary

    state = monitor(watchlist=world["watchlist"], feeds=world["feeds"], state_url=world["state_url"], return_state=True)
    second = state.result()
    assert second["new_articles"] == 0 and second["alerts"] == {}
    assert len(world["smtp"].messages) == 3 and len(world["web"].posted_json("/hook")) == 3
    assert prefect_api.artifact("monitor-alerts", state.state_details.flow_run_id).data == "No alerts."


def test_overlapping_monitor_runs_page_once(world: dict[str, Any]) -> None:
    results: list[dict[str, Any]] = []
    threads = [threading.Thread(target=lambda: results.append(run_monitor(world))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 2
    assert sum(r["new_articles"] for r in results) == 3
    assert len(world["smtp"].messages) == 3 and len(world["web"].posted_json("/hook")) == 3


def test_two_concurrent_monitor_runs_on_postgresql_page_once(world: dict[str, Any]) -> None:
    schema = f"tocsin_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    try:
        url = f"{PG_URL}?options=-csearch_path%3D{schema}"
        threads = [threading.Thread(target=run_monitor, args=(world, url)) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(list_alerts(connect(url))) == 3
        assert len(world["smtp"].messages) == 3
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))


def _articles(directory: Path, n: int = 6) -> Path:
    directory.mkdir()
    for i in range(n):
        (directory / f"{i:03d}.txt").write_text(
            f"Story {i}\nWire/ Kata'ib Hezbollah said bases will be targeted in case {i}. "
            + " ".join(f"detail{i}x{j}" for j in range(40)) + "\n"
        )
    return directory


def test_backfill_records_delivers_and_publishes_artifacts(world: dict[str, Any], tmp_path: Path, prefect_api: Any) -> None:
    corpus = _articles(tmp_path / "corpus")
    (corpus / "broken.html").write_bytes(b"\x00\x01binary")
    state = backfill(path=str(corpus), watchlist=world["watchlist"], state_url=world["state_url"], return_state=True)
    summary = state.result()
    assert summary["articles"] == 6 and summary["alerts"] == {"high": 6} and summary["errors"] == 1
    assert len(list_alerts(connect(world["state_url"]))) == 6 and len(world["smtp"].messages) == 6
    run = state.state_details.flow_run_id
    assert prefect_api.artifact("backfill-alerts", run).data.count("\n#### ") == 6 - 1
    assert "broken\\.html: binary file" in prefect_api.artifact("backfill-summary", run).data  # markdown-escaped
    again = backfill(path=str(corpus / "*.txt"), watchlist=world["watchlist"], state_url=world["state_url"])
    assert again["articles"] == 6 and again["new_articles"] == 0 and len(world["smtp"].messages) == 6


def test_backfill_dry_run_records_and_delivers_nothing(world: dict[str, Any], tmp_path: Path) -> None:
    corpus = _articles(tmp_path / "corpus", 6)
    summary = backfill(path=str(corpus), watchlist=world["watchlist"], state_url=world["state_url"], dry_run=True)
    assert summary["alerts"] == {"high": 6} and summary["delivery"].startswith("dry run")
    assert list_alerts(connect(world["state_url"])) == [] and world["smtp"].messages == []


def test_invalid_configuration_fails_the_run_early_with_its_errors(world: dict[str, Any], tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nrules:\n  - {id: r, title: R, severity: high, query: 'a b'}\n")
    state = monitor(watchlist=str(bad), feeds=world["feeds"], state_url=world["state_url"], return_state=True)
    assert state.is_failed() and f"{bad}:3:" in state.message
    assert world["web"].requests == []
    state = backfill(path=str(tmp_path), watchlist=world["watchlist"], rules=["nosuch"], return_state=True)
    assert state.is_failed() and "no such rule: nosuch" in state.message


@pytest.mark.slow
def test_prefect_yaml_deploys_monitor_on_cron_and_backfill_on_demand(prefect_api: Any) -> None:
    env = {**os.environ, "PREFECT_API_URL": prefect_api.url, "TOCSIN_DIR": str(ROOT)}
    prefect = [sys.executable, "-m", "prefect", "--no-prompt"]
    subprocess.run([*prefect, "work-pool", "create", "tocsin-pool", "--type", "process", "--overwrite"], env=env, cwd=ROOT, check=True, capture_output=True)
    out = subprocess.run([*prefect, "deploy", "--all", "--prefect-file", "deployments/prefect.yaml"], env=env, cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]

    from prefect.client.orchestration import get_client

    async def read() -> dict[str, Any]:
        async with get_client() as client:
            return {d.name: d for d in await client.read_deployments() if d.work_pool_name == "tocsin-pool"}


    deployments = asyncio.run(read())
    assert set(deployments) == {"monitor", "backfill"}
    monitor_schedules = [s.schedule.cron for s in deployments["monitor"].schedules]
    assert monitor_schedules == ["*/10 * * * *"] and deployments["monitor"].global_concurrency_limit.limit == 1
    assert deployments["monitor"].concurrency_options.collision_strategy == "CANCEL_NEW"
    assert deployments["backfill"].schedules == [] and deployments["backfill"].parameters["path"] == "seeds/"


def test_cli_monitor_once_and_backfill_exit_codes(world: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from flows.cli import main

    monkeypatch.setenv("TOCSIN_STATE_URL", world["state_url"])
    config = ["--watchlist", world["watchlist"], "--feeds", world["feeds"]]
    assert main(["monitor", "--once", *config]) == 0  # a feed failed: reported, still 0
    out, err = capsys.readouterr()
    assert json.loads(out)["alerts"] == {"high": 3} and "tocsin: feed dead: connection refused" in err
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nrules:\n  - {id: r, title: R, severity: high, query: 'a b'}\n")
    assert main(["monitor", "--once", "--watchlist", str(bad), "--feeds", world["feeds"]]) == 2
    assert capsys.readouterr().err.startswith(f"tocsin: {bad}:3:")
    corpus = _articles(tmp_path / "corpus", 2)
    assert main(["backfill", str(corpus), "--rules", "nosuch", *config]) == 2
    assert capsys.readouterr().err == "tocsin: no such rule: nosuch\n"
    assert main(["backfill", str(corpus), "--since", "2000-01-01", *config]) == 0
    assert json.loads(capsys.readouterr().out)["new_articles"] == 2
    (corpus / "empty.txt").write_text("")
    assert main(["backfill", str(corpus), "--dry-run", *config]) == 1
    assert f"tocsin: {corpus / 'empty.txt'}: " in capsys.readouterr().err  # named, with the reason


def test_every_feed_status_is_in_the_summary_and_artifact_back_off_included(world: dict[str, Any], prefect_api: Any) -> None:
    run_monitor(world)
    state = monitor(watchlist=world["watchlist"], feeds=world["feeds"], state_url=world["state_url"], return_state=True)
    feeds = state.result()["feeds"]
    assert feeds["by_status"] == {"ok": 1, "skipped-backoff": 1} and feeds["failed"] == {}
    assert list(feeds["skipped"]) == ["dead"] and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", feeds["skipped"]["dead"])
    rows = {r["feed"]: r for r in prefect_api.artifact("monitor-feeds", state.state_details.flow_run_id).data}
    assert rows["dead"]["status"] == "skipped-backoff" and rows["dead"]["next_attempt"] == feeds["skipped"]["dead"]
    assert "connection refused" in rows["dead"]["reason"] and rows["wire"]["status"] == "ok" and rows["wire"]["entries"] == 3
    summary = prefect_api.artifact("monitor-summary", state.state_details.flow_run_id).data
    assert "1 skipped in back-off" in summary and "`dead`: skipped-backoff" in summary
