"""The state store's schema and engine (SQLAlchemy Core; SQLite or PostgreSQL).

The program creates and upgrades the schema itself: ``connect()`` runs
``create_all`` and any pending step of ``MIGRATIONS``, recorded in ``schema_version``.
Each table belongs to one module, which is the only code that writes it:

- ``feeds``: flows/store/feedstate.py (validators, failures, back-off)
- ``entries``, ``stories``: flows/store/entries.py (one row per feed item, one per story)
- ``alerts``, ``deliveries``: flows/store/outbox.py (the alert outbox, one delivery row per channel)
- ``article_texts``: flows/store/entries.py (the text of each entry that raised an alert, to re-scan)
- ``feedback``: flows/store/feedback.py (analysts' useful/noise labels on alerts)
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

try:
    import fcntl
except ImportError:  # Windows: SQLite's busy wait alone serializes writers
    fcntl = None  # type: ignore[assignment]

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from flows.settings import state_url

metadata = sa.MetaData()

schema_version = sa.Table(
    "schema_version",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True),
)

feeds = sa.Table(
    "feeds",
    metadata,
    sa.Column("id", sa.String(200), primary_key=True),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("etag", sa.Text),
    sa.Column("last_modified", sa.Text),
    sa.Column("last_attempt_at", sa.DateTime(timezone=True)),
    sa.Column("last_success_at", sa.DateTime(timezone=True)),
    sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_error", sa.Text),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True)),
)

stories = sa.Table(
    "stories",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("signature", sa.LargeBinary),  # MinHash signature of the first copy
    sa.Column("details", sa.JSON),  # a short story's distinguishing details (fingerprint.details); None: long
)

# The near-duplicate index (fingerprint.band_keys): a new article's candidates are the stories
# that share a band with it, looked up here rather than held in memory, so every process sees
# every story and memory stays flat. A story's bands expire with the story window (``seen``).
story_bands = sa.Table(
    "story_bands",
    metadata,
    sa.Column("band", sa.BigInteger, nullable=False),
    sa.Column("story_id", sa.Integer, sa.ForeignKey("stories.id"), nullable=False),
    sa.Column("seen", sa.DateTime(timezone=True), nullable=False),  # the story's first_seen
    sa.PrimaryKeyConstraint("band", "story_id"),
)

entries = sa.Table(
    "entries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("feed_id", sa.String(200), nullable=False),
    sa.Column("identity", sa.Text, nullable=False),  # guid, canonical link or content hash
    sa.Column("url", sa.Text),
    sa.Column("title", sa.Text),
    sa.Column("source", sa.Text),
    sa.Column("published", sa.DateTime(timezone=True)),
    sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),  # hash of normalized content
    sa.Column("story_id", sa.Integer, sa.ForeignKey("stories.id")),
    sa.Column("language", sa.String(16)),  # detected: ar | en | und (version 5)
    sa.UniqueConstraint("feed_id", "identity", name="uq_entries_feed_identity"),
)

alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(400), nullable=False, unique=True),  # rule + story
    sa.Column("rule", sa.String(200), nullable=False),
    sa.Column("severity", sa.String(20), nullable=False),
    sa.Column("story_id", sa.Integer, sa.ForeignKey("stories.id")),
    sa.Column("entry_id", sa.Integer, sa.ForeignKey("entries.id")),
    sa.Column("payload", sa.JSON, nullable=False),  # spec §7 alert object + article
    sa.Column("outlets", sa.JSON, nullable=False),  # every outlet that carried the story
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

deliveries = sa.Table(
    "deliveries",
    metadata,
    sa.Column("alert_id", sa.Integer, sa.ForeignKey("alerts.id"), primary_key=True),
    sa.Column("channel", sa.String(200), primary_key=True),
    sa.Column("status", sa.String(20), nullable=False),  # pending | sent | held | digest | failed
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True)),
    sa.Column("sent_at", sa.DateTime(timezone=True)),
    sa.Column("last_error", sa.Text),
)

# The article of each entry that raised an alert (``Article`` as JSON), so that ``tocsin eval
# --feedback`` can re-scan labelled alerts with another watch list.
article_texts = sa.Table(
    "article_texts",
    metadata,
    sa.Column("entry_id", sa.Integer, sa.ForeignKey("entries.id"), primary_key=True),
    sa.Column("article", sa.JSON, nullable=False),
)

# An analyst's label on an alert: ``useful`` or ``noise``; labelling again replaces it.
feedback = sa.Table(
    "feedback",
    metadata,
    sa.Column("alert_id", sa.Integer, sa.ForeignKey("alerts.id"), primary_key=True),
    sa.Column("label", sa.String(20), nullable=False),
    sa.Column("note", sa.Text),
    sa.Column("labelled_at", sa.DateTime(timezone=True), nullable=False),
)

sa.Index("ix_entries_story", entries.c.story_id)
sa.Index("ix_entries_fingerprint", entries.c.fingerprint)
ix_stories_first_seen = sa.Index("ix_stories_first_seen", stories.c.first_seen)
sa.Index("ix_story_bands_seen", story_bands.c.seen)
sa.Index("ix_alerts_story", alerts.c.story_id)
sa.Index("ix_alerts_created", alerts.c.created_at)
sa.Index("ix_deliveries_status", deliveries.c.status, deliveries.c.next_attempt_at)

# Schema upgrades after version 1, in order: (version, step). A step must be idempotent. A new
# database gets the whole of ``metadata`` from ``create_all`` and starts at CURRENT_VERSION.
def _index_recent_stories(conn: Connection) -> None:
    """Version 3: the near-duplicate index moved into ``story_bands`` (created by create_all);
    fill it with the stories of the current window."""
    from extractors.fingerprint import band_keys, from_bytes
    from flows.store.entries import STORY_WINDOW

    conn.execute(story_bands.delete())
    recent = conn.execute(
        sa.select(stories.c.id, stories.c.signature, stories.c.first_seen)
        .where(stories.c.first_seen >= datetime.now(UTC) - STORY_WINDOW, stories.c.signature.is_not(None))
    ).all()
    rows = [{"band": band, "story_id": story_id, "seen": seen}
            for story_id, signature, seen in recent for band in dict.fromkeys(band_keys(from_bytes(signature)))]
    if rows:
        conn.execute(story_bands.insert(), rows)


def _add_story_details(conn: Connection) -> None:
    """Version 4: ``stories.details`` (stories recorded before have none: they are not checked)."""
    if "details" not in {c["name"] for c in sa.inspect(conn).get_columns("stories")}:
        conn.execute(sa.text(f"ALTER TABLE stories ADD COLUMN details {sa.JSON().compile(dialect=conn.dialect)}"))


def _entry_language(conn: Connection) -> None:
    """Version 5: ``entries.language`` (docs/arabic.md); entries recorded before it have none."""
    if "language" not in {c["name"] for c in sa.inspect(conn).get_columns("entries")}:
        conn.execute(sa.text("ALTER TABLE entries ADD COLUMN language VARCHAR(16)"))


MIGRATIONS: list[tuple[int, Callable[[Connection], None]]] = [
    (2, lambda conn: ix_stories_first_seen.create(conn, checkfirst=True)),
    (3, _index_recent_stories),
    (4, _add_story_details),
    (5, _entry_language),
    (6, lambda conn: metadata.create_all(conn, tables=[article_texts, feedback], checkfirst=True)),
]
CURRENT_VERSION = MIGRATIONS[-1][0]


_engines: dict[tuple[str, int], Engine] = {}


class StoreUnreachable(ValueError):
    """The state store cannot be opened; one line, with no password."""


def connect(url: str | None = None) -> Engine:
    """An engine on ``url`` (default: the configured state store) with the schema up to date.

    One engine per URL and process: the schema is checked once, and a forked child
    never shares its parent's connections."""
    url = url or state_url()
    key = (url, os.getpid())
    if key not in _engines:
        if url.startswith("sqlite"):
            engine = sa.create_engine(url, connect_args={"timeout": 30})
            _sqlite_pragmas(engine)
        else:
            engine = sa.create_engine(url, pool_pre_ping=True)
        try:
            upgrade(engine)
        except sa.exc.OperationalError as exc:
            engine.dispose()
            reason = str(exc.orig or exc).strip().splitlines()[0]
            raise StoreUnreachable(f"cannot open the state store {engine.url.render_as_string(hide_password=True)}: {reason}") from None
        _engines[key] = engine
    return _engines[key]


def upgrade(engine: Engine) -> None:
    """Create or upgrade the schema. Safe when several processes start on a new database at once:
    PostgreSQL serializes them with an advisory lock; SQLite's loser retries and finds it done."""
    for attempt in range(5):
        try:
            with engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(727001)"))
                _upgrade(conn)
            return
        except (sa.exc.OperationalError, sa.exc.ProgrammingError, sa.exc.IntegrityError):
            if attempt == 4:
                raise
            time.sleep(0.2 * (attempt + 1))


IN_LIST = 500  # values per IN (...) list


def in_chunks(values: list[Any], size: int = IN_LIST) -> Iterator[list[Any]]:
    """``values`` in slices short enough for one IN (...) list."""
    for i in range(0, len(values), size):
        yield values[i : i + size]


def upsert(conn: Connection, table: sa.Table):  # type: ignore[no-untyped-def]
    """The dialect's INSERT, which has ``on_conflict_do_nothing`` (SQLite and PostgreSQL)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A transaction that holds the store's write lock from its first statement, so that
    read-then-write work (story assignment) never interleaves with another writer's:
    BEGIN IMMEDIATE on SQLite, an advisory lock on PostgreSQL. On a SQLite file, writers
    first queue on an OS file lock, which wakes the next one the moment it is free (SQLite's
    own busy wait sleeps in steps of up to 100 ms)."""
    with _file_lock(engine), engine.connect() as conn:
        conn = conn.execution_options(write_lock=True)
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(727002)"))
            yield conn


@contextmanager
def _file_lock(engine: Engine) -> Iterator[None]:
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:" or fcntl is None:
        yield
        return
    with open(f"{database}.writer-lock", "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _upgrade(conn: Connection) -> None:
    metadata.create_all(conn, checkfirst=True)
    done = set(conn.execute(sa.select(schema_version.c.version)).scalars())
    if not done:  # a new store: create_all made everything
        conn.execute(schema_version.insert(), [{"version": v} for v, _ in MIGRATIONS])
        return
    # Every step not yet recorded, not only those above the highest: versions are assigned to
    # branches in advance and may land out of order (a store made at 6 still gets 5).
    for version, step in MIGRATIONS:
        if version not in done:
            step(conn)
            conn.execute(schema_version.insert().values(version=version))


def _sqlite_pragmas(engine: Engine) -> None:
    """WAL; transactions begin here (not in the driver), IMMEDIATE when ``writing`` asks."""

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:  # type: ignore[no-untyped-def]
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("write_lock") else "BEGIN")

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_conn.isolation_level = None  # let the "begin" hook issue BEGIN itself
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()
