"""The state store's schema on SQLite and on PostgreSQL: created, upgraded, and safe to start at once.

``state_url`` (also used by tests/test_entries.py) gives each test a fresh store: a SQLite file,
or a PostgreSQL schema of its own (unique name), so parallel test runs never share tables.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import run_in_processes
import sqlalchemy as sa

from flows.store import db
from tests.conftest import PG_URL


@pytest.fixture(params=["sqlite", "postgresql"])
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'state.db'}"
        yield url
        _dispose(url)
        return
    schema = f"tocsin_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL, poolclass=sa.NullPool)
    try:
        with admin.begin() as conn:
            conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    except sa.exc.OperationalError as exc:
        pytest.fail(f"PostgreSQL at {PG_URL} is not reachable: {exc}")
    url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    yield url
    _dispose(url)
    with admin.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


def _dispose(url: str) -> None:
    for key in [k for k in db._engines if k[0] == url]:
        db._engines.pop(key).dispose()


def versions(engine: sa.Engine) -> list[int]:
    with engine.begin() as conn:
        return list(conn.execute(sa.select(db.schema_version.c.version).order_by(db.schema_version.c.version)).scalars())


def indexes(engine: sa.Engine, table: str) -> set[str]:
    return {ix["name"] for ix in sa.inspect(engine).get_indexes(table)}


def test_connect_creates_the_whole_schema_at_the_current_version(state_url: str) -> None:
    engine = db.connect(state_url)
    assert {"feeds", "entries", "stories", "alerts", "deliveries"} <= set(sa.inspect(engine).get_table_names())
    assert "ix_stories_first_seen" in indexes(engine, "stories")
    assert versions(engine) == [v for v, _ in db.MIGRATIONS]
    db.upgrade(engine)
    assert versions(engine) == [v for v, _ in db.MIGRATIONS]


def test_a_version_1_store_is_upgraded_in_place_keeping_its_rows(state_url: str) -> None:
    engine = sa.create_engine(state_url, poolclass=sa.NullPool)
    with engine.begin() as conn:
        db.metadata.create_all(conn)
        db.ix_stories_first_seen.drop(conn)
        conn.execute(db.schema_version.insert().values(version=1))
        conn.execute(db.feeds.insert().values(id="f", url="https://example.org/feed"))
    assert "ix_stories_first_seen" not in indexes(engine, "stories")
    db.upgrade(engine)
    assert "ix_stories_first_seen" in indexes(engine, "stories")
    assert versions(engine) == [1, *(v for v, _ in db.MIGRATIONS)]
    with engine.begin() as conn:
        assert conn.execute(sa.select(db.feeds.c.url)).scalar_one() == "https://example.org/feed"
    engine.dispose()


def _connect_in_child(url: str) -> None:
    db.connect(url)


def test_processes_starting_on_a_new_store_at_once_all_get_one_schema(state_url: str) -> None:
    assert run_in_processes(_connect_in_child, (state_url,), 3, timeout=60) == [0, 0, 0]
    assert versions(db.connect(state_url)) == [v for v, _ in db.MIGRATIONS]


def test_sqlite_store_uses_wal_and_enforces_foreign_keys(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    engine = db.connect(url)
    with engine.begin() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        with pytest.raises(sa.exc.IntegrityError):
            with conn.begin_nested():
                conn.execute(db.deliveries.insert().values(alert_id=12345, channel="ops", status="pending"))
    _dispose(url)


def test_connect_returns_one_engine_per_store_and_process(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    assert db.connect(url) is db.connect(url)
    _dispose(url)


def test_a_step_numbered_below_the_stores_version_still_runs(state_url: str) -> None:
    """Versions are numbered when written and land out of order: a store made whole at 6
    before step 4 existed (no ``stories.details``) gets step 4 on its next start."""
    engine = sa.create_engine(state_url, poolclass=sa.NullPool)
    with engine.begin() as conn:
        db.metadata.create_all(conn)
        conn.exec_driver_sql("ALTER TABLE stories DROP COLUMN details")
        conn.execute(db.schema_version.insert().values(version=6))
    db.upgrade(engine)
    assert "details" in {c["name"] for c in sa.inspect(engine).get_columns("stories")}
    assert versions(engine) == sorted({6, *(v for v, _ in db.MIGRATIONS)})
    engine.dispose()
