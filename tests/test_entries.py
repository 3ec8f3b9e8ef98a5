"""The state store on SQLite and on PostgreSQL: entries once, stories across outlets, alerts with their article."""

from __future__ import annotations

import multiprocessing
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from extractors.article import Article
from extractors.scan import AlertResult, Evidence, ScanResult
from flows.db import alerts, connect, entries, stories
from flows.entries import Item, record_batch
from tests.conftest import PG_URL

BODY = [
    "Kata'ib Hezbollah said in a statement on its Telegram channel that it would target American bases in Iraq and Syria if the strikes on its positions near the Syrian border continued.",
    "The group's spokesman said the recent attacks on Jurf al-Sakhar had killed four of its fighters and wounded several others, and that the response would come at a time of its choosing.",
    "Iraqi government officials have been trying to contain the escalation, fearing that the country could be dragged into a wider regional war between Iran and the United States.",
    "A senior official in Baghdad told reporters that the prime minister had spoken with militia leaders and urged restraint, while also calling on Washington to respect Iraqi sovereignty.",
    "The Pentagon said it would hold the groups responsible for any attack on American personnel and that it reserved the right to respond at a time and place of its choosing.",
    "Analysts said the statement marked the most explicit threat from the group since it announced a pause in operations against American forces earlier this year.",
]
OTHER = [
    "Kata'ib Hezbollah denied any role in the assassination of a local politician in Basra on Tuesday, saying the accusation was part of a campaign to tarnish the reputation of the resistance.",
    "Police in Basra said the politician was shot by gunmen on a motorcycle as he left his office in the city centre, and that an investigation had been opened.",
    "The governor of the province ordered a curfew and declared three days of mourning, while political parties condemned the killing and called for calm ahead of the local elections.",
    "Security sources said the victim had received threats after criticising armed factions on television, but no group had claimed responsibility for the attack by Wednesday evening.",
]


def copy(n: int, title: str, lead_edit: str = "") -> Article:
    body = [BODY[0] + lead_edit, *BODY[1:]]
    return Article(id=f"copy{n}", title=title, paragraphs=body, source=f"Outlet {n}", url=f"https://outlet{n}.example/story")


def item(feed: str, identity: str, article: Article, *rules: str) -> Item:
    fired = [AlertResult(rule=r, title=r, severity="high", actors=["kataib-hezbollah"], evidence=[Evidence(text="x", start=0, end=1, terms=[])]) for r in rules]
    result = ScanResult(id=article.id, path=None, title=article.title, source=article.source, published=None, actors=[], alerts=fired)
    return Item(feed, identity, article, result)


@pytest.fixture(params=["sqlite", "postgresql"])
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'state.db'}"
        return
    schema = f"tocsin_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


def count(engine: sa.Engine, table: sa.Table) -> int:
    with engine.begin() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def test_recording_twice_records_once(state_url: str) -> None:
    engine = connect(state_url)
    batch = [item("feed-a", "g1", copy(1, "Militia threatens US bases"), "threat")]
    first = record_batch(engine, batch, channels_for=lambda r: ["ops"])
    second = record_batch(engine, batch, channels_for=lambda r: ["ops"])
    assert [r.new for r in first] == [True] and [r.new for r in second] == [False]
    assert count(engine, entries) == 1 and count(engine, alerts) == 1


def test_reworded_copies_from_three_outlets_are_one_story_and_one_alert(state_url: str) -> None:
    engine = connect(state_url)
    copies = [
        item("feed-a", "a1", copy(1, "Kataib Hezbollah threatens US bases in Iraq"), "threat"),
        item("feed-b", "b1", copy(2, "Iraqi militia vows to hit American forces", " on Monday"), "threat"),
        item("feed-c", "c1", copy(3, "Iran-backed group warns Washington after strikes", ", according to the statement"), "threat"),
    ]
    recorded = [record_batch(engine, [c], channels_for=lambda r: ["ops"])[0] for c in copies]
    assert len({r.story_id for r in recorded}) == 1
    assert [r.new_story for r in recorded] == [True, False, False]
    assert [bool(r.alert_ids) for r in recorded] == [True, False, False]
    with engine.begin() as conn:
        outlets = conn.execute(sa.select(alerts.c.outlets)).scalar_one()
    assert [o["source"] for o in outlets] == ["Outlet 1", "Outlet 2", "Outlet 3"]


def test_two_stories_about_the_same_actor_stay_apart(state_url: str) -> None:
    engine = connect(state_url)
    a = item("feed-a", "a1", copy(1, "Kataib Hezbollah threatens US bases"), "threat")
    b = item("feed-a", "a2", Article(id="other", title="Kataib Hezbollah denies Basra killing", paragraphs=OTHER, source="Outlet 1"), "threat")
    recorded = record_batch(engine, [a, b], channels_for=lambda r: ["ops"])
    assert recorded[0].story_id != recorded[1].story_id
    assert count(engine, stories) == 2 and count(engine, alerts) == 2


def test_an_entry_and_its_alerts_are_one_transaction(state_url: str) -> None:
    engine = connect(state_url)

    def broken_routing(rule: str) -> list[str]:
        raise RuntimeError("routing failed")

    batch = [item("feed-a", "a1", copy(1, "First"), "threat"), item("feed-a", "a2", Article(id="o", title="Other", paragraphs=OTHER), "threat")]
    with pytest.raises(RuntimeError):
        record_batch(engine, batch, channels_for=broken_routing)
    assert count(engine, entries) == 0 and count(engine, alerts) == 0 and count(engine, stories) == 0
    assert all(r.new for r in record_batch(engine, batch, channels_for=lambda r: ["ops"]))


def _many() -> list[Item]:
    return [
        item("feed-x", f"id-{i}", Article(id=f"a{i}", title=f"Story number {i}", paragraphs=[f"Unique body {i} " + " ".join(f"w{i}x{j}" for j in range(30))]))
        for i in range(200)
    ]


def _record_in_child(state_url: str) -> None:
    record_batch(connect(state_url), _many(), channels_for=lambda r: [])


def test_two_threads_racing_create_one_entry_per_item(state_url: str) -> None:
    connect(state_url)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            record_batch(connect(state_url), _many(), channels_for=lambda r: [])
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert count(connect(state_url), entries) == 200


def test_two_processes_racing_create_one_entry_per_item(state_url: str) -> None:
    connect(state_url)
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_record_in_child, args=(state_url,)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0, 0]
    assert count(connect(state_url), entries) == 200
