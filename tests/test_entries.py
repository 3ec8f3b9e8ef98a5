"""The store on SQLite and on PostgreSQL: entries once, stories across outlets, alerts with their article."""

from __future__ import annotations

import multiprocessing
import random
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from extractors.article import Article
from extractors.scan import AlertResult, Evidence, ScanResult
from flows.store import outbox
from extractors.fingerprint import BANDS
from flows.store.db import alerts, connect, deliveries, entries, stories, story_bands
from flows.store.entries import Item, known_identities, record_batch, story_outlets
from tests.helpers import fork_each, run_in_processes
from tests.test_db import state_url  # noqa: F401  (the fixture)
from tests.test_fingerprint import FAMILIES, KH_BASRA, KH_THREAT

NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)


def item(feed: str, identity: str, article: Article, *rules: str) -> Item:
    fired = [AlertResult(rule=r, title=r, severity="high", actors=["kataib-hezbollah"],
                         evidence=[Evidence(text="x", start=0, end=1, terms=[])]) for r in rules]
    result = ScanResult(id=article.id, path=None, title=article.title, source=article.source, published=None,
                        actors=[], alerts=fired)
    return Item(feed, identity, article, result)


def copies(family: Any, *rules: str) -> list[Item]:
    return [item(f"feed-{n}", f"{family.name}-{n}", a, *rules) for n, a in enumerate(family.copies(), start=1)]


def ops(rule: str) -> list[str]:
    return ["ops"]


def count(engine: sa.Engine, table: sa.Table) -> int:
    with engine.begin() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def test_recording_twice_records_once(state_url: str) -> None:
    engine = connect(state_url)
    batch = copies(KH_THREAT, "threat")[:1]
    first = record_batch(engine, batch, channels_for=ops, now=NOW)
    second = record_batch(engine, batch, channels_for=ops, now=NOW)
    assert [(r.new, bool(r.alert_ids)) for r in first] == [(True, True)]
    assert [(r.new, r.entry_id, r.alert_ids) for r in second] == [(False, None, [])]
    assert (count(engine, entries), count(engine, alerts), count(engine, deliveries)) == (1, 1, 1)


def test_the_same_item_twice_in_one_batch_is_one_entry(state_url: str) -> None:
    engine = connect(state_url)
    one = copies(KH_THREAT, "threat")[0]
    assert [r.new for r in record_batch(engine, [one, one], channels_for=ops, now=NOW)] == [True, False]
    assert count(engine, entries) == 1


def test_reworded_copies_from_three_feeds_are_one_story_with_one_alert_naming_every_outlet(state_url: str) -> None:
    engine = connect(state_url)
    recorded = [record_batch(engine, [c], channels_for=ops, now=NOW)[0] for c in copies(KH_THREAT, "threat")]
    assert len({r.story_id for r in recorded}) == 1
    assert [(r.new_story, bool(r.alert_ids)) for r in recorded] == [(True, True), (False, False), (False, False)]
    with engine.begin() as conn:
        outlets = conn.execute(sa.select(alerts.c.outlets)).scalar_one()
        assert [o["source"] for o in story_outlets(conn, recorded[0].story_id)] == ["Outlet 1", "Outlet 2", "Outlet 3"]
    assert [o["source"] for o in outlets] == ["Outlet 1", "Outlet 2", "Outlet 3"]


def test_a_mixed_batch_of_four_stories_in_copies_becomes_four_stories(state_url: str) -> None:
    engine = connect(state_url)
    batch = [c for f in FAMILIES for c in copies(f)] + [item("feed-4", f"{f.name}-t", f.trimmed()) for f in FAMILIES]
    random.Random(7).shuffle(batch)
    recorded = record_batch(engine, batch, channels_for=ops, now=NOW)
    story_of = {r.item.identity: r.story_id for r in recorded}
    for f in FAMILIES:
        assert len({story_of[f"{f.name}-{n}"] for n in (1, 2, 3)} | {story_of[f"{f.name}-t"]}) == 1, f.name
    assert len(set(story_of.values())) == len(FAMILIES) == count(engine, stories)
    assert sum(r.new_story for r in recorded) == len(FAMILIES)


def test_two_stories_about_the_same_actor_stay_apart(state_url: str) -> None:
    engine = connect(state_url)
    a, b = copies(KH_THREAT, "threat")[0], copies(KH_BASRA, "threat")[0]
    first = record_batch(engine, [a], channels_for=ops, now=NOW)[0]
    second = record_batch(engine, [b], channels_for=ops, now=NOW)[0]
    assert first.story_id != second.story_id and second.new_story
    assert count(engine, stories) == 2 and count(engine, alerts) == 2


def test_near_duplicates_are_matched_within_the_window_and_exact_copies_at_any_age(state_url: str) -> None:
    engine = connect(state_url)
    one, two, three = copies(KH_THREAT)
    story = record_batch(engine, [one], channels_for=ops, now=NOW)[0].story_id
    assert record_batch(engine, [two], channels_for=ops, now=NOW + timedelta(days=6))[0].story_id == story
    late = record_batch(engine, [three], channels_for=ops, now=NOW + timedelta(days=8))[0]
    assert late.new_story and late.story_id != story
    exact = item("feed-9", "reprint", one.article.model_copy(update={"id": "reprint", "title": one.article.title.upper()}))
    assert record_batch(engine, [exact], channels_for=ops, now=NOW + timedelta(days=60))[0].story_id == story


def _record(state_url: str, batch: list[Item]) -> None:
    record_batch(connect(state_url), batch, channels_for=ops, now=NOW)


def test_stories_recorded_by_another_process_are_seen_by_a_running_one(state_url: str) -> None:
    engine = connect(state_url)
    one, two, three = copies(KH_THREAT, "threat")
    record_batch(engine, [copies(KH_BASRA)[0]], channels_for=ops, now=NOW)  # this process's index is built
    assert fork_each(_record, [(state_url, [one])], timeout=60) == [0]
    joined = record_batch(engine, [two], channels_for=ops, now=NOW)[0]
    assert not joined.new_story and joined.alert_ids == []
    assert count(engine, stories) == 2 and count(engine, alerts) == 1


def _record_after(barrier: Any, state_url: str, batch: list[Item]) -> None:
    engine = connect(state_url)
    barrier.wait(timeout=30)
    record_batch(engine, batch, channels_for=ops, now=NOW)


def test_two_processes_meeting_one_new_story_at_once_give_it_one_story(state_url: str) -> None:
    connect(state_url)
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(3)
    arg_sets = [(barrier, state_url, [c]) for c in copies(KH_THREAT, "threat")]
    assert fork_each(_record_after, arg_sets, timeout=60) == [0, 0, 0]
    engine = connect(state_url)
    assert (count(engine, entries), count(engine, stories), count(engine, alerts)) == (3, 1, 1)


def test_an_entry_and_its_alerts_are_one_transaction(state_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = connect(state_url)
    batch = [copies(KH_THREAT, "threat")[0], copies(KH_BASRA, "threat", "denial")[0]]
    real, calls = outbox.enqueue_many, []

    def enqueue_then_fail(conn: sa.Connection, requests: Any, now: Any) -> list[int | None]:
        calls.append(real(conn, requests, now))
        raise RuntimeError("crash after the alerts were written")

    monkeypatch.setattr(outbox, "enqueue_many", enqueue_then_fail)
    with pytest.raises(RuntimeError):
        record_batch(engine, batch, channels_for=ops, now=NOW)
    assert calls[0] and calls[0][0] is not None  # alert rows had been written before the crash
    assert [count(engine, t) for t in (entries, stories, alerts, deliveries)] == [0, 0, 0, 0]
    monkeypatch.setattr(outbox, "enqueue_many", real)
    again = record_batch(engine, batch, channels_for=ops, now=NOW)
    assert [(r.new, r.new_story, len(r.alert_ids)) for r in again] == [(True, True, 1), (True, True, 2)]
    assert (count(engine, entries), count(engine, stories), count(engine, alerts)) == (2, 2, 3)


def test_a_failed_batch_leaves_no_trace_in_the_story_index(state_url: str) -> None:
    engine = connect(state_url)
    threat, basra = copies(KH_THREAT), copies(KH_BASRA)

    def fail(rule: str) -> list[str]:
        raise RuntimeError("routing failed")

    with pytest.raises(RuntimeError):
        record_batch(engine, [item("feed-1", "t1", threat[0].article, "threat")], channels_for=fail, now=NOW)
    # another process records another story, which SQLite may give the rolled-back id
    assert fork_each(_record, [(state_url, [basra[0]])], timeout=60) == [0]
    again = record_batch(engine, [threat[1]], channels_for=ops, now=NOW)[0]
    assert again.new_story and count(engine, stories) == 2


def test_a_batch_of_1000_takes_a_handful_of_statements_not_one_per_item(state_url: str) -> None:
    engine = connect(state_url)
    statements: list[str] = []

    def log(conn: sa.Connection, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", log)
    try:
        recorded = record_batch(engine, _many(1000, feed="feed-big"), channels_for=ops, now=NOW)
    finally:
        sa.event.remove(engine, "before_cursor_execute", log)
    assert sum(r.new for r in recorded) == 1000 and count(engine, stories) == 1000
    assert len(statements) < 30, statements[:40]
    with engine.begin() as conn:
        assert known_identities(conn, "feed-big", ["id-1", "id-999", "nope"]) == {"id-1", "id-999"}


def _many(n: int = 200, feed: str = "feed-x", rule: str | None = None) -> list[Item]:
    rng = random.Random(n)
    vocabulary = [f"w{i}" for i in range(5000)]
    return [
        item(feed, f"id-{i}", Article(id=f"a{i}", title=f"Story number {i}", source=f"Outlet {i % 7}",
                                      paragraphs=[" ".join(rng.choices(vocabulary, k=80))]), *([rule] if rule else []))
        for i in range(n)
    ]


def _race_in_child(state_url: str) -> None:
    record_batch(connect(state_url), _many(rule="threat"), channels_for=ops, now=NOW)


def test_two_threads_racing_create_one_entry_per_item(state_url: str) -> None:
    connect(state_url)
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def work() -> None:
        try:
            barrier.wait()
            record_batch(connect(state_url), _many(rule="threat"), channels_for=ops, now=NOW)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    engine = connect(state_url)
    assert (count(engine, entries), count(engine, alerts), count(engine, deliveries)) == (200, 200, 200)


def test_two_processes_racing_create_one_entry_per_item(state_url: str) -> None:
    connect(state_url)
    assert run_in_processes(_race_in_child, (state_url,), 2) == [0, 0]
    engine = connect(state_url)
    assert (count(engine, entries), count(engine, alerts), count(engine, deliveries)) == (200, 200, 200)
    with engine.begin() as conn:
        assert conn.execute(sa.select(sa.func.count(sa.distinct(entries.c.story_id)))).scalar_one() == 200


def test_the_story_index_is_in_the_store_and_forgets_stories_past_the_window(state_url: str) -> None:
    engine = connect(state_url)
    one, two, _ = copies(KH_THREAT)
    first = record_batch(engine, [one], channels_for=ops, now=NOW)[0]
    assert count(engine, story_bands) == BANDS  # one row per band of the new story
    joined = record_batch(engine, [two], channels_for=ops, now=NOW + timedelta(days=1))[0]
    assert joined.story_id == first.story_id and count(engine, story_bands) == BANDS  # a copy adds none
    record_batch(engine, [copies(KH_BASRA)[0]], channels_for=ops, now=NOW + timedelta(days=8))
    with engine.begin() as conn:
        assert set(conn.execute(sa.select(story_bands.c.story_id)).scalars()) == {first.story_id + 1}


def test_a_copy_recorded_by_another_writer_between_look_up_and_lock_joins_its_story(
    state_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import flows.store.entries as store

    engine = connect(state_url)
    one, two, _ = copies(KH_THREAT)
    real = store.writing

    def another_writer_first(e: sa.Engine) -> Any:
        monkeypatch.setattr(store, "writing", real)
        record_batch(engine, [one], channels_for=ops, now=NOW)  # after the look-up, before the lock
        return real(e)

    monkeypatch.setattr(store, "writing", another_writer_first)
    joined = record_batch(engine, [two], channels_for=ops, now=NOW)[0]
    assert not joined.new_story and count(engine, stories) == 1
