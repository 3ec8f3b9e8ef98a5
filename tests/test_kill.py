"""SIGKILL a draining process at random moments, 50 times: no alert lost; duplicates only where a
kill landed between a successful send and its record, and then at most one per kill."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from extractors.article import Article
from extractors.watchlist import load_watchlist
from flows.store.db import connect
from flows.store.outbox import drain
from flows.pipeline import Config, process_batch
from tests.servers import HTTPServer, respond

ROOT = Path(__file__).resolve().parent.parent
ALERTS = 200
KILLS = 50
CHILD = """
import sys
from extractors.watchlist import load_watchlist
from flows.store.db import connect
from flows.store.outbox import drain
print("ready", flush=True)
drain(connect(sys.argv[2]), load_watchlist(sys.argv[1]))
"""


@pytest.mark.slow
def test_sigkill_during_delivery_loses_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hook = HTTPServer()
    hook.routes["/hook"] = respond(b"ok", delay=0.005)
    watchlist = tmp_path / "watchlist.yaml"
    watchlist.write_text(yaml.safe_dump({
        "version": 1,
        "actors": [{"id": "g", "name": "Kataib Hezbollah", "kind": "armed-group"}],
        "lexicons": {"threat": ["threat*"]},
        "rules": [{"id": "threat", "title": "Threat", "severity": "high", "query": "kind:armed-group AND lexicon:threat"}],
        "channels": {"hook": f"json://127.0.0.1:{hook.url.rsplit(':', 1)[1]}/hook"},
    }))
    config = Config(str(watchlist), f"sqlite:///{tmp_path / 'state.db'}")
    process_batch(config, [
        (f"feed-{i}", f"id-{i}", Article(id=f"a{i}", title=f"Kataib Hezbollah threat {i}", paragraphs=[" ".join(f"w{i}x{j}" for j in range(40))]))
        for i in range(ALERTS)
    ])
    rng = random.Random(20261124)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    kills_mid_batch = 0
    for _ in range(KILLS):
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(watchlist), config.state_url], cwd=ROOT, env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        target = len(hook.requests) + rng.randint(1, 5)  # kill after a few sends: mid-batch, at a random point
        deadline = time.monotonic() + 30
        while len(hook.requests) < target and child.poll() is None and time.monotonic() < deadline:
            time.sleep(rng.uniform(0, 0.004))
        child.send_signal(signal.SIGKILL)
        child.wait()
        kills_mid_batch += len(hook.requests) >= target
    # Everything a killed drain had claimed is released when its lease expires.
    drain(connect(config.state_url), load_watchlist(str(watchlist)), now=datetime.now(UTC) + timedelta(hours=2))
    hook.close()

    received = Counter(p["key"] for p in hook.posted_json("/hook"))
    lost = ALERTS - len(received)
    duplicates = sum(n - 1 for n in received.values())
    with capsys.disabled():
        print(f"\n[kill test] {KILLS} kills ({kills_mid_batch} while sending), {ALERTS} alerts: lost {lost}, "
              f"delivered twice {duplicates} (a kill between a send and its record)")
    assert lost == 0
    assert all(n <= 2 for n in received.values())
    assert duplicates <= kills_mid_batch
