"""Shared test setup: every test gets its own TOCSIN_HOME and a project-local PREFECT_HOME."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

os.environ.setdefault("PREFECT_HOME", str(ROOT / ".prefect"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

PG_URL = os.environ.get("TOCSIN_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(autouse=True)
def tocsin_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "tocsin-home"
    monkeypatch.setenv("TOCSIN_HOME", str(home))
    monkeypatch.delenv("TOCSIN_STATE_URL", raising=False)
    return home
