"""The Prefect flows on a real Prefect API (prefect_test_harness), against local feeds, SMTP and webhook."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from flows.db import connect
from flows.monitor import backfill, dask_runner, monitor
from flows.outbox import list_alerts
from tests.conftest import PG_URL
from tests.feeds_fixtures import rss
from tests.servers import HTTPServer, SMTPServer, respond

PAGE = (
    "<html><head><meta property='og:site_name' content='Wire {n}'></head><body><article><h1>Story {n}</h1>"
    "<p>Kata'ib Hezbollah said on Monday that all American bases in the region will be targeted after strike {n}.</p>"
    "<p>Officials in Baghdad urged restraint and said talks with the factions were continuing for case {n}.</p>"
    "<p>{filler}</p>"
    "</article></body></html>"
)


@pytest.fixture(scope="module", autouse=True)
def prefect_api() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture()
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
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


def test_monitor_polls_scans_records_and_delivers_once(world: dict[str, Any]) -> None:
    first = run_monitor(world)
    assert first["new_articles"] == 3 and first["alerts"] == {"high": 3}
    assert first["feeds"]["polled"] == 2 and "dead" in first["feeds"]["failed"]
    assert len(world["smtp"].messages) == 3 and len(world["web"].posted_json("/hook")) == 3
    assert any("will be targeted" in m.as_string() for m in world["smtp"].messages)
    second = run_monitor(world)
    assert second["new_articles"] == 0 and second["alerts"] == {}
    assert len(world["smtp"].messages) == 3 and len(world["web"].posted_json("/hook")) == 3


def test_monitor_publishes_artifacts(world: dict[str, Any]) -> None:
    run_monitor(world)
    table, summary = asyncio.run(_latest_artifacts("monitor-alerts", "monitor-summary"))
    rows = json.loads(table.data) if isinstance(table.data, str) else table.data
    assert len(rows) == 3 and {r["rule"] for r in rows} == {"threat"} and all(r["link"].startswith("http") for r in rows)
    assert "alerts by severity: high: 3" in summary.data and "`dead`: failed" in summary.data


async def _latest_artifacts(*keys: str) -> list[Any]:
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        return [await _one(client, k) for k in keys]


async def _one(client: Any, key: str) -> Any:
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    found = await client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])), sort=ArtifactSort.CREATED_DESC, limit=1)
    return found[0]


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


def _articles(directory: Path, n: int = 60) -> Path:
    directory.mkdir()
    for i in range(n):
        story = i % 20  # every story three times, from three "outlets"
        (directory / f"{i:03d}_{i:016x}.txt").write_text(
            f"Story {story} from outlet {i // 20}\nWire {i // 20}/ Kata'ib Hezbollah said bases will be targeted in case {story}. "
            + " ".join(f"detail{story}x{j}" for j in range(40)) + "\n"
        )
    return directory


def _alert_set(state_url: str) -> set[tuple[str, str]]:
    return {(a["rule"], a["article"]["title"].split(" from ")[0]) for a in list_alerts(connect(state_url), limit=10_000)}


def test_backfill_on_a_dask_cluster_gives_the_single_process_alerts(world: dict[str, Any], tmp_path: Path) -> None:
    corpus = _articles(tmp_path / "corpus")
    single, distributed = f"sqlite:///{tmp_path / 'one.db'}", f"sqlite:///{tmp_path / 'dask.db'}"
    one = backfill(path=str(corpus), watchlist=world["watchlist"], state_url=single, chunk=10)
    two = backfill.with_options(task_runner=dask_runner("local", 2))(path=str(corpus), watchlist=world["watchlist"], state_url=distributed, chunk=10)
    assert one["articles"] == two["articles"] == 60
    assert one["alerts"] == {"high": 20}
    assert _alert_set(single) == _alert_set(distributed) and len(_alert_set(single)) == 20


def test_backfill_dry_run_records_and_delivers_nothing(world: dict[str, Any], tmp_path: Path) -> None:
    corpus = _articles(tmp_path / "corpus", 6)
    summary = backfill(path=str(corpus), watchlist=world["watchlist"], state_url=world["state_url"], dry_run=True)
    assert summary["alerts"] == {"high": 6} and summary["delivery"].startswith("dry run")
    assert list_alerts(connect(world["state_url"])) == [] and world["smtp"].messages == []


def test_invalid_configuration_fails_the_run_early(world: dict[str, Any], tmp_path: Path) -> None:
    from extractors.config import ConfigError

    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nrules:\n  - {id: r, title: R, severity: high, query: 'a b'}\n")
    with pytest.raises(ConfigError):
        monitor(watchlist=str(bad), feeds=world["feeds"], state_url=world["state_url"])
    assert world["web"].requests == []
