"""`tocsin serve` as a user runs it: a local Prefect server, scheduled runs, an alert, a clean stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import yaml

from tests.feeds_fixtures import rss
from tests.servers import HTTPServer, respond

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_serve_runs_on_schedule_delivers_and_stops_cleanly(tmp_path: Path) -> None:
    web = HTTPServer()
    web.routes["/hook"] = respond(b"ok")
    web.routes["/feed.xml"] = respond(rss([{
        "title": "Kataib Hezbollah says US bases will be targeted", "guid": "urn:1",
        "summary": "Kata'ib Hezbollah said all American bases will be targeted.",
    }]))
    (tmp_path / "watchlist.yaml").write_text(yaml.safe_dump({
        "version": 1,
        "actors": [{"id": "kataib-hezbollah", "name": "Kata'ib Hezbollah", "kind": "armed-group", "aliases": ["Kataib Hezbollah"]}],
        "lexicons": {"threat": ["will be targeted"]},
        "rules": [{"id": "threat", "title": "Threat", "severity": "high", "query": "kind:armed-group NEAR/15 lexicon:threat"}],
        "channels": {"hook": f"json://127.0.0.1:{web.url.rsplit(':', 1)[1]}/hook"},
    }))
    (tmp_path / "feeds.yaml").write_text(yaml.safe_dump({"version": 1, "feeds": [{"id": "wire", "name": "Wire", "url": f"{web.url}/feed.xml"}]}))
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update(TOCSIN_HOME=str(tmp_path / "home"), PREFECT_HOME=str(tmp_path / "prefect"), PYTHONPATH=str(ROOT),
               PREFECT_SERVER_ANALYTICS_ENABLED="false")
    proc = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "serve", "--every", "5",
         "--watchlist", str(tmp_path / "watchlist.yaml"), "--feeds", str(tmp_path / "feeds.yaml")],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and sum("Finished in state Completed()" in line and "Flow run" in line for line in lines) < 2:
            line = proc.stdout.readline() if proc.stdout else ""
            if not line and proc.poll() is not None:
                break
            lines.append(line)
        finished = sum("Flow run" in line and "Finished in state Completed()" in line for line in lines)
        assert finished >= 2, "".join(lines[-40:])
        assert any("Prefect UI at http://127.0.0.1:" in line for line in lines)
        posted = web.posted_json("/hook")
        assert len(posted) == 1 and posted[0]["rule"] == "threat"  # the alert object itself
        children = psutil.Process(proc.pid).children(recursive=True)
        assert children, "a local Prefect server should be running"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        web.close()
    assert proc.returncode == 0
    gone, alive = psutil.wait_procs(children, timeout=10)
    assert [c for c in alive if c.status() != psutil.STATUS_ZOMBIE] == []
