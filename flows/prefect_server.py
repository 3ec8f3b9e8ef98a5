"""A Prefect API for the life of one tocsin command.

With ``PREFECT_API_URL`` set, that server is used (after a health check). Without it,
a local Prefect server is started on 127.0.0.1 (SQLite under ``PREFECT_HOME``), in its
own process group, and stopped with the command — on return, Ctrl-C, SIGTERM or an
error. If tocsin is killed outright (SIGKILL, OOM), the kernel tells the server to stop
(``PR_SET_PDEATHSIG``), so no server is left orphaned.

``tocsin serve`` asks for one with the UI on a stable port; ``monitor --once`` and
``backfill`` for one with neither UI nor background services (what Prefect's own
ephemeral server is, but that one would outlive a SIGKILL).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from flows.settings import tocsin_home

SERVER_START_TIMEOUT = 120.0
DEFAULT_UI_PORT = 4200


class PrefectServerError(RuntimeError):
    """No Prefect API to run flows on (one line, for the terminal)."""

# Prefect settings for every tocsin process and the servers it starts: no usage-data
# banner, no telemetry sent anywhere; the only network traffic is the feeds and channels.
QUIET = {"DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}


def quiet_prefect() -> None:
    """Set :data:`QUIET` in this process's environment (before Prefect reads its settings)."""
    for name, value in QUIET.items():
        os.environ.setdefault(name, value)


def ui_port(flag: int | None) -> int:
    """``--port``, else ``TOCSIN_UI_PORT``, else 4200 (0: any free port)."""
    if flag is not None:
        return flag
    raw = os.environ.get("TOCSIN_UI_PORT", "")
    if not raw:
        return DEFAULT_UI_PORT
    if not raw.isdigit() or int(raw) > 65535:
        raise ValueError(f"TOCSIN_UI_PORT must be a port number, not {raw!r}")
    return int(raw)


@contextmanager
def prefect_api(*, ui: bool = False, port: int = 0) -> Iterator[str]:
    """The Prefect API URL to use: ``PREFECT_API_URL`` (environment or profile), else a local server started here
    (with the UI and services on ``port`` if ``ui``; ``port`` 0 picks a free one)."""
    from prefect.settings import PREFECT_API_URL, PREFECT_UI_URL, temporary_settings

    if url := os.environ.get("PREFECT_API_URL") or PREFECT_API_URL.value():  # the environment or a Prefect profile
        try:
            httpx.get(f"{url.rstrip('/')}/health", timeout=10).raise_for_status()
        except httpx.HTTPError as exc:
            raise PrefectServerError(f"no Prefect API answers at PREFECT_API_URL ({type(exc).__name__})") from None
        yield url
        return
    port = port or _free_port()
    if not _port_free(port):
        raise PrefectServerError(f"port {port} on 127.0.0.1 is in use; choose another with --port or TOCSIN_UI_PORT")
    api = f"http://127.0.0.1:{port}/api"
    log_path = tocsin_home() / "prefect-server.log"
    env = {
        **os.environ, **QUIET, "PREFECT_UI_API_URL": api,
        # Concurrency-slot leases on disk: a slot held by a run whose runner died is freed
        # by the server's repossessor even across server restarts.
        "PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE": "prefect.server.concurrency.lease_storage.filesystem",
    }
    command = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    if not ui:
        command += ["--no-ui", "--no-services"]
    with log_path.open("ab") as log:
        server = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
            start_new_session=True, preexec_fn=_die_with_parent,
        )
    try:
        if ui:
            print(f"tocsin: starting a local Prefect server (log: {log_path})", flush=True)
        _wait_healthy(api, server, log_path)
        os.environ["PREFECT_API_URL"] = api  # for the runner's flow-run processes
        # For this process, whose settings are loaded; no "View at" links to a UI that is not there.
        with temporary_settings(updates={PREFECT_API_URL: api, **({} if ui else {PREFECT_UI_URL: ""})}):
            yield api
    finally:
        _drain_to(api)
        os.environ.pop("PREFECT_API_URL", None)
        _stop(server)


def _drain_to(api: str) -> None:
    """Send the logs and events Prefect still queues for ``api``, while it still answers
    (otherwise they fail at exit with "Error logging to API")."""
    for module, worker in (("prefect.logging.handlers", "APILogWorker"), ("prefect.events.worker", "EventsWorker")):
        if module in sys.modules:
            getattr(sys.modules[module], worker).drain_all(timeout=10)


def _die_with_parent() -> None:
    """In the server's process (Linux): SIGTERM it when tocsin dies, however it dies.
    Set from the main thread's fork, so it fires when the tocsin process exits."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _wait_healthy(api: str, server: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise PrefectServerError(f"the Prefect server exited with status {server.returncode}; see {log_path}")
        try:
            if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise PrefectServerError(f"the Prefect server did not become healthy in {SERVER_START_TIMEOUT:.0f} s; see {log_path}")


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


def _port_free(port: int) -> bool:
    """Free to listen on, as the server will (with SO_REUSEADDR): the TIME-WAIT connections a
    just-stopped serve leaves for a minute do not count, so a restart can take the same port."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
