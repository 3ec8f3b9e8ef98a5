"""The backfill on a real Dask LocalCluster of two worker processes gives the single-process alerts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from flows.store.db import connect
from flows.monitor import backfill, dask_runner
from flows.store.outbox import list_alerts
from tests.helpers import write_watchlist

pytest_plugins = ["tests.prefect_api"]

RULES = [
    {"id": "threat", "title": "Armed group issues a threat", "severity": "high", "query": "kind:armed-group NEAR/15 lexicon:threat"},
    {"id": "denial", "title": "A state denies", "severity": "low", "query": "kind:state NEAR/10 lexicon:denial"},
]


def _corpus(directory: Path, n: int = 90) -> Path:
    """Files, an HTML page and a JSON-lines file; every story carried by three "outlets"."""
    directory.mkdir()
    for i in range(n):
        story = i % 30
        claim = "bases will be targeted" if story % 3 else "Iran denied any role"
        (directory / f"{i:03d}.txt").write_text(
            f"Story {story}\nWire {i // 30}/ Kata'ib Hezbollah said {claim} in case {story}. "
            + " ".join(f"detail{story}x{j}" for j in range(40)) + "\n"
        )
    (directory / "extra.jsonl").write_text("".join(
        f'{{"id": "j{k}", "title": "Hezbollah threatened strikes, case j{k}", "body": "{" ".join(f"w{k}x{j}" for j in range(40))}"}}\n'
        for k in range(5)
    ) + "not json\n")
    return directory


def _alerts(state_url: str) -> list[tuple[str, str, str]]:
    """Each alert as (rule, severity, the story's first title), order-free."""
    return sorted((a["rule"], a["severity"], a["article"]["title"]) for a in list_alerts(connect(state_url), limit=10_000))


def _counts(summary: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in summary.items() if k not in ("seconds", "timings")}


@pytest.mark.slow
def test_backfill_on_a_two_worker_dask_cluster_gives_the_single_process_alerts(prefect_api: object, tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "corpus")
    watchlist = str(write_watchlist(tmp_path, RULES))
    single, distributed = f"sqlite:///{tmp_path / 'one.db'}", f"sqlite:///{tmp_path / 'dask.db'}"
    one = backfill(path=str(corpus), watchlist=watchlist, state_url=single, chunk=10)
    runner = dask_runner("local", 2)
    two = backfill.with_options(task_runner=runner)(path=str(corpus), watchlist=watchlist, state_url=distributed, chunk=10)
    assert _counts(one) == _counts(two)
    assert one["articles"] == 95 and one["errors"] == 1 and one["new_stories"] == 35
    assert one["alerts"] == {"high": 25, "low": 10}
    assert _alerts(single) == _alerts(distributed) and len(_alerts(single)) == 35
