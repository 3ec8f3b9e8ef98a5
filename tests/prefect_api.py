"""One real Prefect API for the whole test session (it takes seconds to start).

Test modules that run flows say ``pytest_plugins = ["tests.prefect_api"]`` and use the
``prefect_api`` fixture: its ``url``, and ``artifact(key, run)`` to read one back through the client.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest


@dataclass(frozen=True)
class PrefectAPI:
    url: str

    @staticmethod
    def artifact(key: str, flow_run_id: Any = None) -> Any:
        return read_artifact(key, flow_run_id)


@pytest.fixture(scope="session")
def prefect_api() -> Iterator[PrefectAPI]:
    """The API, while ``prefect_test_harness`` serves it."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield PrefectAPI(str(PREFECT_API_URL.value()))


def read_artifact(key: str, flow_run_id: Any = None) -> Any:
    """The newest artifact with ``key`` (of that flow run, if given); a table's rows are decoded."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    async def read() -> Any:
        async with get_client() as client:
            found = await client.read_artifacts(
                artifact_filter=ArtifactFilter(
                    key=ArtifactFilterKey(any_=[key]),
                    flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]) if flow_run_id else None,
                ),
                sort=ArtifactSort.CREATED_DESC, limit=1,
            )
        assert found, f"no artifact {key!r}"
        return found[0]

    artifact = asyncio.run(read())
    if artifact.type == "table" and isinstance(artifact.data, str):
        artifact.data = json.loads(artifact.data)
    return artifact
