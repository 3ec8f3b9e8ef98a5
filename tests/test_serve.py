"""`tocsin serve` as a user runs it: a local Prefect server, scheduled runs, an alert, a clean stop."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

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
    args = _config(tmp_path, web)
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update(TOCSIN_HOME=str(tmp_path / "home"), PREFECT_HOME=str(tmp_path / "prefect"), PYTHONPATH=str(ROOT),
               PREFECT_SERVER_ANALYTICS_ENABLED="false")
    proc = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "serve", "--every", "5", "--port", "0", *args],
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


# --- stops, restarts and kills -------------------------------------------------------------

THREAT = [{"title": "Kataib Hezbollah says US bases will be targeted", "guid": "urn:1",
           "summary": "Kata'ib Hezbollah said all American bases will be targeted."}]


def _config(tmp_path: Path, web: HTTPServer) -> list[str]:
    (tmp_path / "watchlist.yaml").write_text(yaml.safe_dump({
        "version": 1,
        "actors": [{"id": "kataib-hezbollah", "name": "Kata'ib Hezbollah", "kind": "armed-group", "aliases": ["Kataib Hezbollah"]}],
        "lexicons": {"threat": ["will be targeted"]},
        "rules": [{"id": "threat", "title": "Threat", "severity": "high", "query": "kind:armed-group NEAR/15 lexicon:threat"}],
        "channels": {"hook": f"json://127.0.0.1:{web.url.rsplit(':', 1)[1]}/hook"},
    }))
    (tmp_path / "feeds.yaml").write_text(yaml.safe_dump({"version": 1, "feeds": [{"id": "wire", "name": "Wire", "url": f"{web.url}/feed.xml"}]}))
    return ["--watchlist", str(tmp_path / "watchlist.yaml"), "--feeds", str(tmp_path / "feeds.yaml")]


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "DO_NOT_TRACK", "PREFECT_SERVER_ANALYTICS_ENABLED")}
    env.update(TOCSIN_HOME=str(tmp_path / "home"), PREFECT_HOME=str(tmp_path / "prefect"), PYTHONPATH=str(ROOT))
    return env


class _Output:
    """A child's merged output, read on a thread, so the test can wait for a line with a deadline."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self.thread = threading.Thread(target=lambda: self.lines.extend(iter(proc.stdout.readline, "")), daemon=True)  # type: ignore[union-attr]
        self.thread.start()

    def wait_for(self, predicate: Callable[[str], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(predicate(line) for line in list(self.lines)):
                return True
            time.sleep(0.2)
        return False

    def text(self) -> str:
        return "".join(self.lines)


def _serve(tmp_path: Path, args: list[str]) -> tuple[subprocess.Popen[str], _Output]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "serve", "--every", "3600", "--port", "0", *args],
        cwd=ROOT, env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    return proc, _Output(proc)


def _is_prefect_server(proc: psutil.Process) -> bool:
    try:
        return proc.status() != psutil.STATUS_ZOMBIE and "server" in proc.cmdline()
    except psutil.Error:
        return False


def _completed(line: str) -> bool:
    return "Flow run" in line and "Finished in state Completed()" in line


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL], ids=["sigterm", "sigint", "sigkill"])
def test_a_serve_stopped_mid_run_does_not_hold_the_schedule(tmp_path: Path, stop: signal.Signals) -> None:
    """Stop (or kill) `tocsin serve` while its run is in flight; the next serve's run completes
    (the deployment's concurrency slot is not left taken), and a clean stop is one line."""
    web = HTTPServer()
    web.routes["/hook"] = respond(b"ok")
    polled, release = threading.Event(), threading.Event()

    def held_feed(req: Any) -> None:  # the first poll waits here: the run is in flight
        polled.set()
        release.wait(120)
        respond(rss(THREAT))(req)

    web.routes["/feed.xml"] = held_feed
    args = _config(tmp_path, web)
    first, out = _serve(tmp_path, args)
    try:
        deadline = time.monotonic() + 180
        while not polled.wait(0.5) and time.monotonic() < deadline and first.poll() is None:
            pass
        assert polled.is_set(), out.text()[-3000:]
        tree = psutil.Process(first.pid).children(recursive=True)
        first.send_signal(stop)
        first.wait(timeout=90)
        out.thread.join(timeout=10)
    finally:
        release.set()
        if first.poll() is None:
            first.kill()
    if stop != signal.SIGKILL:
        text = out.text()
        assert first.returncode == 0, text[-3000:]
        assert "Traceback" not in text, text[-3000:]
        assert text.rstrip().splitlines()[-1] == "tocsin: stopped", text[-3000:]
    _, alive = psutil.wait_procs(tree, timeout=30)  # the server goes with serve however it stops
    servers_left = [c for c in alive if _is_prefect_server(c)]
    for child in alive:  # a killed serve's flow-run process may linger; not the subject here
        with contextlib.suppress(psutil.Error):
            child.kill()
    assert servers_left == []

    # Under load, the held poll can time out while the run is being cancelled, and its feed
    # then waits in back-off. This test is about the schedule's slot, so the second serve
    # reads the same feed under a fresh id.
    web.routes["/feed.xml"] = respond(rss(THREAT))
    (tmp_path / "feeds.yaml").write_text(yaml.safe_dump({"version": 1, "feeds": [{"id": "wire-again", "name": "Wire", "url": f"{web.url}/feed.xml"}]}))
    second, out = _serve(tmp_path, args)
    try:
        assert out.wait_for(_completed, 180), out.text()[-4000:]
        assert "Deployment concurrency limit reached" not in out.text()
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=60)
        web.close()
    assert len(web.posted_json("/hook")) == 1


@pytest.mark.slow
@pytest.mark.parametrize("command", [["monitor", "--once"], ["backfill", "DIR"]])
def test_a_killed_one_shot_command_leaves_no_prefect_server(tmp_path: Path, command: list[str]) -> None:
    web = HTTPServer()
    web.routes["/hook"] = respond(b"ok")
    web.routes["/feed.xml"] = respond(rss(THREAT), delay=60)  # the monitor run stays in flight
    args = _config(tmp_path, web)
    (tmp_path / "articles").mkdir()
    (tmp_path / "articles" / "a.txt").write_text("Kataib Hezbollah said all American bases will be targeted.\n")
    argv = [str(tmp_path / "articles") if a == "DIR" else a for a in command]
    proc = subprocess.Popen([sys.executable, "-m", "flows.cli", *argv, *args[:2], *(args[2:] if command[0] == "monitor" else [])],
                            cwd=ROOT, env=_env(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        servers: list[psutil.Process] = []
        while time.monotonic() < deadline and not servers:
            servers = [c for c in psutil.Process(proc.pid).children(recursive=True)
                       if any("server" in part or "uvicorn" in part for part in c.cmdline())]
            time.sleep(0.2)
        assert servers, "the command should have started a Prefect server"
        proc.kill()
        proc.wait(timeout=10)
        _, alive = psutil.wait_procs(servers, timeout=30)
    finally:
        web.close()
    for child in alive:
        child.kill()
    assert alive == []


# --- the terminal ---------------------------------------------------------------------------


def test_a_closed_pipe_ends_the_command_quietly(tmp_path: Path) -> None:
    """`tocsin ... | head`: the reader is gone before the output is written; no traceback."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run([sys.executable, "-m", "flows.cli", "scan", str(ROOT / "seeds"), "--format", "jsonl"],
                              cwd=ROOT, env=_env(tmp_path), stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write_end)
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr
    assert proc.returncode == 141


def test_the_ui_port_is_stable_and_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    from flows.prefect_server import ui_port

    monkeypatch.delenv("TOCSIN_UI_PORT", raising=False)
    assert ui_port(None) == 4200
    monkeypatch.setenv("TOCSIN_UI_PORT", "4300")
    assert ui_port(None) == 4300 and ui_port(4400) == 4400
    monkeypatch.setenv("TOCSIN_UI_PORT", "http")
    with pytest.raises(ValueError, match="TOCSIN_UI_PORT must be a port number"):
        ui_port(None)


def test_a_taken_ui_port_is_one_clear_line(tmp_path: Path) -> None:
    import socket

    web = HTTPServer()
    args = _config(tmp_path, web)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        proc = subprocess.run([sys.executable, "-m", "flows.cli", "serve", "--port", str(port), *args],
                              cwd=ROOT, env=_env(tmp_path), capture_output=True, text=True, timeout=120)
    web.close()
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == f"tocsin: port {port} on 127.0.0.1 is in use; choose another with --port or TOCSIN_UI_PORT\n"


def test_prefect_telemetry_is_off_in_tocsin_and_its_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect._internal.analytics.enabled import is_telemetry_enabled

    from flows.cli import main
    from flows.prefect_server import QUIET

    for name in QUIET:
        monkeypatch.delenv(name, raising=False)
    main(["check", "--watchlist", str(ROOT / "deployments" / "watchlist.yaml")])
    assert os.environ["DO_NOT_TRACK"] == "1" and os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false"
    assert not is_telemetry_enabled()


@pytest.mark.slow
def test_on_a_terminal_the_progress_line_never_runs_into_the_alerts(tmp_path: Path) -> None:
    """`tocsin backfill seeds/` on a terminal (as `make run` does): the self-rewriting progress
    line (stderr) is ended before the console channel prints alerts (stdout)."""
    import pty

    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "flows.cli", "backfill", str(ROOT / "seeds")], cwd=ROOT, env=_env(tmp_path),
                            stdin=subprocess.DEVNULL, stdout=follower, stderr=follower)
    os.close(follower)
    chunks: list[bytes] = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed: the command has exited
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert proc.wait(timeout=60) == 0
    screen = b"".join(chunks).decode(errors="replace")
    lines = [line.rsplit("\r", 1)[-1] for line in screen.replace("\r\n", "\n").split("\n")]  # what stays on screen
    progress = [line for line in lines if " articles (" in line]
    assert progress and all(line.rstrip().endswith(" errors") for line in progress), progress
    assert any(line.startswith("[CRITICAL]") for line in lines)
    assert "Task run" not in screen[screen.index(" articles ("):]  # per-task log lines are hidden while it shows


@pytest.mark.slow
def test_a_served_run_that_reads_no_feed_is_failed_with_its_reason(tmp_path: Path) -> None:
    web = HTTPServer()
    args = _config(tmp_path, web)
    web.close()  # every feed now fails: connection refused
    proc, out = _serve(tmp_path, args)
    try:
        assert out.wait_for(lambda line: "Finished in state Failed" in line, 180), out.text()[-3000:]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        out.thread.join(timeout=10)
    text = out.text()
    assert "Finished in state Failed(\"no feed could be read" in text
    assert "ERROR   | Flow run" in text and "monitor run failed: no feed could be read" in text  # said once, in one line
    assert "Traceback" not in text and "Unexpected result for failed state" not in text
