"""`tocsin serve`: the monitor as a scheduled Prefect deployment, with no setup.

The Prefect API comes from :mod:`flows.prefect_server` (``PREFECT_API_URL``, else a
local server with the UI on a stable port). A stop never disables the schedule:

- on SIGTERM or SIGINT (what systemd, docker and Ctrl-C send) the runner stops polling
  and cancels its in-flight run through the API, which frees the deployment's
  concurrency slot; then the server stops and ``tocsin: stopped`` is printed;
- at start, runs of the served deployment still Pending/Running/Cancelling are from a
  ``tocsin serve`` that is gone (killed, or stopped with its server) — one serve per
  deployment — and are marked Crashed, which frees their slot too.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

DEPLOYMENT = "tocsin-monitor"
IN_FLIGHT = ("PENDING", "RUNNING", "CANCELLING")


def serve(*, watchlist: str, feeds: str, every: int = 600, cron: str | None = None, port: int = 4200) -> int:
    """Serve the ``monitor`` deployment every ``every`` seconds (or on ``cron``) until stopped;
    the first run starts at once."""
    if not cron and every < 1:
        raise ValueError(f"--every must be at least 1 second, not {every}")
    schedule = {"cron": _cron(cron)} if cron else {"interval": every}
    from flows.prefect_server import prefect_api

    with prefect_api(ui=True, port=port) as api:
        from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy

        from flows.monitor import monitor

        deployment = monitor.to_deployment(
            name=DEPLOYMENT,
            **schedule,
            parameters={"watchlist": str(Path(watchlist).resolve()), "feeds": str(Path(feeds).resolve())},
            concurrency_limit=ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW),
            description="Poll every feed, scan new articles, deliver alerts.",
        )
        when = f"on cron {cron!r} (UTC)" if cron else f"every {every} s"
        print(f"tocsin: serving the monitor {when}, the first run now; Prefect UI at {api.removesuffix('/api')}", flush=True)
        _run_until_signalled(_serve(deployment))
    print("tocsin: stopped", file=sys.stderr, flush=True)
    return 0


def _cron(expr: str) -> str:
    from prefect.client.schemas.schedules import CronSchedule

    try:
        CronSchedule(cron=expr)
    except ValueError:
        raise ValueError(f"not a cron expression: {expr!r}") from None
    return expr


def _run_until_signalled(main: Any) -> None:
    """Run ``main(stop)`` until it returns; SIGTERM and SIGINT set ``stop`` (no exception
    thrown into the loop, so no traceback)."""

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):  # a repeat while the server stops is ignored
            signal.signal(sig, lambda *_: loop.is_closed() or loop.call_soon_threadsafe(stop.set))
        await main(stop)

    asyncio.run(run())


def _serve(deployment: Any) -> Any:
    async def main(stop: asyncio.Event) -> None:
        from prefect.runner import Runner

        class _Runner(Runner):
            def handle_sigterm(self, *args: Any, **kwargs: Any) -> None:
                """Prefect's own handler exits from inside the loop; a stop is ours to run."""
                stop.set()

        await reap_stale_runs(f"monitor/{DEPLOYMENT}")
        runner = _Runner(name="tocsin", pause_on_shutdown=False)
        await runner.aadd_deployment(deployment)
        await _first_run_now()
        started = asyncio.create_task(runner.start())
        stopped = asyncio.create_task(stop.wait())
        await asyncio.wait({started, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if not started.done():
            await runner.astop()  # cancels the in-flight run through the API: its slot is freed
            await asyncio.gather(started, return_exceptions=True)
        stopped.cancel()

    return main


async def _first_run_now() -> None:
    """A run at once, so an operator sees the monitor work at start, not one interval later."""
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        found = await client.read_deployment_by_name(f"monitor/{DEPLOYMENT}")
        await client.create_flow_run_from_deployment(found.id)


async def reap_stale_runs(deployment_name: str) -> list[str]:
    """Mark Crashed every Pending/Running/Cancelling run of ``deployment_name``: called before
    this process serves it, so none of those runs has a live runner. Crashing them frees the
    deployment's concurrency slot (``CANCEL_NEW`` would otherwise cancel every new run).
    Returns the names of the runs reaped."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        DeploymentFilter, FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.exceptions import ObjectNotFound
    from prefect.states import Crashed

    async with get_client() as client:
        try:
            deployment = await client.read_deployment_by_name(deployment_name)
        except ObjectNotFound:
            return []
        runs = await client.read_flow_runs(
            deployment_filter=DeploymentFilter(id={"any_": [deployment.id]}),
            flow_run_filter=FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType(s) for s in IN_FLIGHT]))),
        )
        for run in runs:
            await client.set_flow_run_state(
                run.id, Crashed(message=f"its tocsin serve stopped without finishing it; reaped at {datetime.now(timezone.utc):%Y-%m-%dT%H:%M:%SZ}"),
                force=True,
            )
    if runs:
        print(f"tocsin: marked {len(runs)} unfinished run(s) of a previous serve as Crashed: {', '.join(r.name for r in runs)}", flush=True)
    return [r.name for r in runs]
