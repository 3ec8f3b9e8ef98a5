"""docs/deploy.md, "Try it on one machine", run as written: a Prefect server, a process work
pool, a non-interactive deploy from one checkout, a worker started from *another* checkout
path, a manual backfill run and a scheduled monitor run; then the alerts are checked.

What the test supplies, and nothing else: the two checkout paths (``TOCSIN_SRC`` is this
checkout, ``WORKER_SRC`` a copy of it elsewhere, whose feed list points at a feed served on
127.0.0.1), a free port instead of 4200, ``PATH`` to this checkout's environment (the
guide's install step), ``TOCSIN_ALLOW_PRIVATE_ADDRESSES=1`` (the feed is on loopback), and a
5 s scheduler loop and worker poll (Prefect's defaults, 60 s and 15 s, only make it slower).
Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from tests.feeds_fixtures import rss
from tests.servers import HTTPServer, free_port, respond

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "deploy.md"
DONE = "__deploy_guide_block_done__"


def guide_blocks() -> list[str]:
    """The guide's code blocks marked ``<!-- deploy-guide-test: N -->``, in order."""
    found = re.findall(r"<!-- deploy-guide-test: (\d+) -->\n```sh\n(.*?)```", GUIDE.read_text(), re.S)
    return [body for _, body in sorted(found, key=lambda f: int(f[0]))]


def test_the_guide_marks_its_blocks() -> None:
    blocks = guide_blocks()
    assert len(blocks) == 2 and "prefect --no-prompt deploy" in blocks[0] and "backfill/backfill" in blocks[0]


@pytest.mark.slow
def test_the_deployment_guide_works_as_written(tmp_path: Path) -> None:
    web = HTTPServer()
    web.routes["/feed.xml"] = respond(rss([{
        "title": "Kataib Hezbollah warns US bases", "guid": "urn:guide:1",
        "summary": "Kataib Hezbollah said on Monday that all American bases in the region will be targeted.",
    }]))
    worker_src = tmp_path / "elsewhere" / "tocsin"
    shutil.copytree(ROOT, worker_src, ignore=shutil.ignore_patterns(".venv", ".git", ".prefect", "*.egg-info", "__pycache__", ".pytest_cache"))
    (worker_src / "deployments" / "feeds.yaml").write_text(yaml.safe_dump(
        {"version": 1, "feeds": [{"id": "local", "name": "Local Wire", "url": f"{web.url}/feed.xml"}]}))
    port = free_port()
    assignments = {"TOCSIN_SRC": str(ROOT), "WORKER_SRC": str(worker_src)}

    def literal(block: str) -> str:
        for name, value in assignments.items():
            block = re.sub(rf"\b{name}=\S+", f"{name}={value}", block)
        return block.replace("4200", str(port))

    workdir = tmp_path / "clean"
    workdir.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "TOCSIN_"))}
    env.update(PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}", TOCSIN_ALLOW_PRIVATE_ADDRESSES="1",
               PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS="5", PREFECT_WORKER_QUERY_SECONDS="5")
    shell = subprocess.Popen(["bash", "-euo", "pipefail", "-s"], cwd=workdir, env=env, text=True, start_new_session=True,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(iter(shell.stdout.readline, "")), daemon=True).start()  # type: ignore[union-attr]

    def run_block(block: str, n: int, timeout: float) -> None:
        shell.stdin.write(literal(block) + f"\necho {DONE}{n}\n")  # type: ignore[union-attr]
        shell.stdin.flush()  # type: ignore[union-attr]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and f"{DONE}{n}\n" not in lines and shell.poll() is None:
            time.sleep(0.5)
        assert f"{DONE}{n}\n" in lines, "".join(lines)[:3000] + "\n...\n" + "".join(lines)[-2000:] + _tail(workdir / "worker.log")

    first, second = guide_blocks()
    try:
        run_block(first, 1, 300)
        assert "Completed" in "".join(lines), "".join(lines)[-3000:]
        _wait_for_scheduled_monitor_run(port, workdir, timeout=240)
        run_block(second, 2, 120)
        alerts = [json.loads(line) for line in (workdir / "alerts.jsonl").read_text().splitlines()]
    finally:
        if shell.poll() is None:
            shell.stdin.close()  # type: ignore[union-attr]
        try:
            os.killpg(shell.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        web.close()
    assert any("Local Wire" in str(a) for a in alerts), alerts  # raised by the scheduled monitor run, on the worker
    statuses = {d["status"] for a in alerts for d in a["deliveries"]}
    assert "sent" in statuses and statuses <= {"sent", "digest"}, statuses  # digest: low severities wait for it
    worker_log = (workdir / "worker.log").read_text()
    assert str(worker_src) in worker_log or "Local Wire" in worker_log
    assert (workdir / "tocsin-home" / "alerts.jsonl").exists()  # the default channel wrote on the worker


def _wait_for_scheduled_monitor_run(port: int, workdir: Path, timeout: float) -> None:
    import httpx

    api = f"http://127.0.0.1:{port}/api"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = httpx.post(f"{api}/flow_runs/filter", json={
            "flow_runs": {"state": {"type": {"any_": ["COMPLETED", "FAILED", "CRASHED"]}}},
            "deployments": {"name": {"any_": ["monitor"]}}}, timeout=10).json()
        scheduled = [r for r in runs if r.get("auto_scheduled")]
        if scheduled:
            assert scheduled[0]["state_type"] == "COMPLETED", scheduled[0]["state"] + _tail(workdir / "worker.log")
            return
        time.sleep(2)
    pytest.fail("no scheduled monitor run finished" + _tail(workdir / "worker.log"))


def _tail(path: Path) -> str:
    return "\n--- worker.log ---\n" + path.read_text()[-4000:] if path.exists() else ""
