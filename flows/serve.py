"""`tocsin serve`: the monitor as a scheduled Prefect deployment, with no setup.

With ``PREFECT_API_URL`` set, it serves against that server. Without it, it
starts a local Prefect server (SQLite under ``PREFECT_HOME``) in its own
process group on a free loopback port, waits until it is healthy, and stops it
on exit — Ctrl-C, SIGTERM, or an error — so nothing is left behind.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from collections.abc import Iterator
from pathlib import Path

import httpx

from flows.settings import tocsin_home

SERVER_START_TIMEOUT = 120.0


def serve(*, watchlist: str, feeds: str, every: int = 600, cron: str | None = None) -> int:
    """Serve the ``monitor`` deployment every ``every`` seconds (or on ``cron``) until stopped."""
    schedule = {"cron": _cron(cron)} if cron else {"interval": every}
    if not cron and every < 1:
        raise ValueError(f"--every must be at least 1 second, not {every}")
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        with _prefect_api() as api:
            from prefect import serve as prefect_serve
            from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
            from prefect.settings import PREFECT_API_URL, temporary_settings

            from flows.monitor import monitor

            with temporary_settings(updates={PREFECT_API_URL: api}):
                deployment = monitor.to_deployment(
                    name="tocsin-monitor",
                    **schedule,
                    parameters={"watchlist": str(Path(watchlist).resolve()), "feeds": str(Path(feeds).resolve())},
                    concurrency_limit=ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW),
                    description="Poll every feed, scan new articles, deliver alerts.",
                )
                when = f"on cron {cron!r}" if cron else f"every {every} s"
                print(f"tocsin: serving the monitor {when}; Prefect UI at {api.removesuffix('/api')}", flush=True)
                prefect_serve(deployment, print_starting_message=False)
    except KeyboardInterrupt:
        print("tocsin: stopped", file=sys.stderr)
    except RuntimeError as exc:
        print(f"tocsin: {exc}", file=sys.stderr)
        return 1
    return 0


def _cron(expr: str) -> str:
    from prefect.client.schemas.schedules import CronSchedule

    try:
        CronSchedule(cron=expr)
    except ValueError:
        raise ValueError(f"not a cron expression: {expr!r}") from None
    return expr


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@contextmanager
def _prefect_api() -> Iterator[str]:
    """The Prefect API to serve against: ``PREFECT_API_URL``, else a local server started here."""
    if url := os.environ.get("PREFECT_API_URL"):
        try:
            httpx.get(f"{url.rstrip('/')}/health", timeout=10).raise_for_status()
        except httpx.HTTPError as exc:
            raise RuntimeError(f"no Prefect API answers at PREFECT_API_URL ({type(exc).__name__})") from None
        yield url
        return
    port = _free_port()
    log_path = tocsin_home() / "prefect-server.log"
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_UI_API_URL": f"http://127.0.0.1:{port}/api"}
    with log_path.open("ab") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, start_new_session=True,
            preexec_fn=_die_with_parent,
        )
    api = f"http://127.0.0.1:{port}/api"
    try:
        print(f"tocsin: starting a local Prefect server (log: {log_path})", flush=True)
        _wait_healthy(api, server, log_path)
        os.environ["PREFECT_API_URL"] = api  # the flow-run subprocesses of the runner read it
        yield api
    finally:
        os.environ.pop("PREFECT_API_URL", None)
        _stop(server)


def _die_with_parent() -> None:
    """In the server's process (Linux): SIGTERM it if tocsin dies without cleaning up (SIGKILL)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _wait_healthy(api: str, server: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the Prefect server exited with status {server.returncode}; see {log_path}")
        try:
            if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the Prefect server did not become healthy in {SERVER_START_TIMEOUT:.0f} s; see {log_path}")


def _stop(server: subprocess.Popen[bytes]) -> None:
    """Terminate the server's whole process group; kill it if it lingers."""
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(server.pid, sig)
        except ProcessLookupError:
            return
        try:
            server.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
