"""Analyst feedback on both stores: `tocsin alerts label`, the texts kept to re-scan, `tocsin eval
--feedback` scoring a changed watch list on what was labelled, per-rule counts in the run artifacts,
and the version 6 upgrade."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from extractors.article import Article
from extractors.scan import scan_article
from flows.cli import main
from flows.store import db
from flows.store.entries import Item, record_batch
from flows.store.feedback import feedback_counts, label_alert
from extractors.rules import compile_watchlist
from extractors.watchlist import load_watchlist
from tests.helpers import write_watchlist
from tests.test_db import state_url, versions  # noqa: F401  (the fixture)

pytest_plugins = ["tests.prefect_api"]

BROAD = [{"id": "group-threat", "title": "Group threat", "severity": "high", "query": "kind:armed-group NEAR/10 lexicon:threat"}]
# The change an analyst would try after labelling "Israel threatens Hezbollah" noise.
TIGHT = [{**BROAD[0], "query": "kind:armed-group BEFORE/10 lexicon:threat"}]

USEFUL = Article(id="kh", title="Kataib Hezbollah threatens US bases", paragraphs=["Kataib Hezbollah said US bases will be targeted."],
                 source="Wire", url="https://example.org/kh")
NOISE = Article(id="idf", title="Israel threatens Hezbollah", paragraphs=["The army chief spoke in the north."],
                source="Wire", url="https://example.org/idf")


def _record(url: str, tmp_path: Path, *articles: Article) -> dict[str, int]:
    """Record ``articles`` as a feed would, with the BROAD watch list; alert id by article id."""
    compiled = compile_watchlist(load_watchlist(write_watchlist(tmp_path, BROAD)))
    items = [Item("feed", a.id, a, scan_article(a, compiled)) for a in articles]
    recorded = record_batch(db.connect(url), items, channels_for=lambda rule: [])
    return {r.item.article.id: r.alert_ids[0] for r in recorded if r.alert_ids}


def _cli(url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    monkeypatch.setenv("TOCSIN_STATE_URL", url)
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def test_label_is_stored_and_relabelling_replaces_it(
    state_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]  # noqa: F811
) -> None:
    ids = _record(state_url, tmp_path, USEFUL, NOISE)
    status, out, _ = _cli(state_url, monkeypatch, capsys, "alerts", "label", str(ids["idf"]), "useful", "--note", "first look")
    assert status == 0 and f"alert {ids['idf']} (group-threat:" in out and "labelled useful" in out
    listed = [json.loads(line) for line in _cli(state_url, monkeypatch, capsys, "alerts", "--format", "jsonl")[1].splitlines()]
    [key] = [a["key"] for a in listed if a["id"] == ids["idf"]]
    status, _, _ = _cli(state_url, monkeypatch, capsys, "alerts", "label", key, "noise", "--note", "a threat against the group")
    assert status == 0
    with db.connect(state_url).connect() as conn:
        rows = conn.execute(sa.select(db.feedback.c.alert_id, db.feedback.c.label, db.feedback.c.note)).all()
    assert [tuple(r) for r in rows] == [(ids["idf"], "noise", "a threat against the group")]
    label_alert(db.connect(state_url), str(ids["kh"]), "useful")
    assert feedback_counts(db.connect(state_url)) == {"group-threat": {"useful": 1, "noise": 1}}


def test_the_alerts_table_shows_the_id_to_label(
    state_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]  # noqa: F811
) -> None:
    ids = _record(state_url, tmp_path, USEFUL)
    _, out, _ = _cli(state_url, monkeypatch, capsys, "alerts")
    assert out.split()[0] == str(ids["kh"])


@pytest.mark.parametrize("args, message", [
    (["alerts", "label", "999", "useful"], "no alert '999'"),
    (["alerts", "label", "nope:1", "noise"], "no alert 'nope:1'"),
])
def test_labelling_an_unknown_alert_is_one_line(
    state_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], args: list[str], message: str  # noqa: F811
) -> None:
    status, _, err = _cli(state_url, monkeypatch, capsys, *args)
    assert status == 2 and message in err and len(err.strip().splitlines()) == 1


def test_eval_feedback_rescans_the_labelled_articles_with_another_watch_list(
    state_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]  # noqa: F811
) -> None:
    ids = _record(state_url, tmp_path, USEFUL, NOISE)
    label_alert(db.connect(state_url), str(ids["kh"]), "useful")
    label_alert(db.connect(state_url), str(ids["idf"]), "noise", "Israel is the one threatening")
    for rules, precision in ((BROAD, 0.5), (TIGHT, 1.0)):
        (tmp_path / "eval").mkdir(exist_ok=True)
        watchlist = write_watchlist(tmp_path / "eval", rules)
        status, out, err = _cli(state_url, monkeypatch, capsys, "eval", "--feedback", "--watchlist", str(watchlist),
                                "--format", "json", "--min-precision", "0.9")
        report = json.loads(out)
        assert report["articles"] == 2 and report["should_page"] == 1
        assert report["overall"]["precision"] == precision and report["overall"]["recall"] == 1.0
        assert status == (0 if precision >= 0.9 else 1), err
    assert report["false_pages"] == []
    _, out, _ = _cli(state_url, monkeypatch, capsys, "eval", "--feedback", "--watchlist", str(write_watchlist(tmp_path, BROAD)), "--format", "json")
    [false_page] = json.loads(out)["false_pages"]
    assert false_page["headline"] == "Israel threatens Hezbollah"
    assert false_page["why"] == "group-threat: noise (Israel is the one threatening)"


def test_eval_feedback_with_nothing_labelled_is_one_line(
    state_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]  # noqa: F811
) -> None:
    status, _, err = _cli(state_url, monkeypatch, capsys, "eval", "--feedback", "--watchlist", str(write_watchlist(tmp_path, BROAD)))
    assert status == 2 and "no labelled article to score" in err and len(err.strip().splitlines()) == 1


def test_only_articles_that_raised_an_alert_keep_their_text(state_url: str, tmp_path: Path) -> None:  # noqa: F811
    quiet = Article(id="quiet", title="Dates festival opens in Karbala", paragraphs=["Farmers showed 100 varieties."])
    _record(state_url, tmp_path, USEFUL, quiet)
    with db.connect(state_url).connect() as conn:
        stored = conn.execute(sa.select(db.article_texts.c.article)).scalars().all()
    assert [Article.model_validate(a) for a in stored] == [USEFUL]


def test_a_version_3_store_is_upgraded_to_keep_texts_and_feedback(state_url: str) -> None:  # noqa: F811
    engine = sa.create_engine(state_url, poolclass=sa.NullPool)
    with engine.begin() as conn:
        db.metadata.create_all(conn, tables=[t for t in db.metadata.sorted_tables if t.name not in ("feedback", "article_texts")])
        conn.execute(db.schema_version.insert().values(version=3))
    db.upgrade(engine)
    db.upgrade(engine)  # idempotent
    assert {"feedback", "article_texts"} <= set(sa.inspect(engine).get_table_names())
    assert versions(engine)[-1] == db.CURRENT_VERSION and 6 in versions(engine)
    engine.dispose()


def test_backfill_publishes_feedback_counts_per_rule(tmp_path: Path, prefect_api: Any) -> None:
    from flows.monitor import backfill

    url = f"sqlite:///{tmp_path / 'state.db'}"
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "kh.txt").write_text("Kataib Hezbollah threatens US bases\nWire/ Kataib Hezbollah said US bases will be targeted.\n")
    watchlist = str(write_watchlist(tmp_path, BROAD))
    backfill(path=str(corpus), watchlist=watchlist, state_url=url)
    [alert_id] = db.connect(url).connect().execute(sa.select(db.alerts.c.id)).scalars().all()
    label_alert(db.connect(url), str(alert_id), "noise", now=datetime.now(UTC))
    state = backfill(path=str(corpus), watchlist=watchlist, state_url=url, return_state=True)
    run = state.state_details.flow_run_id
    assert prefect_api.artifact("backfill-feedback", run).data == [{"rule": "group-threat", "useful": 0, "noise": 1}]
    assert "analyst feedback (useful/noise): group-threat 0/1" in prefect_api.artifact("backfill-summary", run).data
