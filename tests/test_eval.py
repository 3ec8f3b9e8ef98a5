"""`tocsin eval`: paging scored against labels, per rule and severity; false pages and misses
explained; thresholds as exit codes; JSON output; bad input as one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flows.cli import main
from tests.helpers import write_watchlist

RULES = [
    {"id": "group-threat", "title": "Group threat", "severity": "high",
     "query": "kind:armed-group NEAR/10 lexicon:threat AND NOT lexicon:denial"},
    {"id": "group-mention", "title": "Group mention", "severity": "medium", "query": "kind:armed-group"},
]

# id -> (should page, headline, body)
ARTICLES = {
    "a1": (True, "Kataib Hezbollah issues threat to US bases", "The group said US bases will be targeted."),
    "a2": (True, "Hezbollah says US troops will be targeted", "Nothing more was said."),
    "a3": (True, "Militia vows revenge on US forces", "Kataib Hezbollah vowed revenge on Monday for the strike."),
    "n1": (False, "Budget threat to salaries of Hezbollah staff", "Parliament debated the budget."),
    "n2": (False, "Kataib Hezbollah denied any threat to US forces", "Officials met in Baghdad."),
    "n3": (False, "Electricity imports rise", "Iraq imported more power in June."),
}


def _corpus(tmp_path: Path, articles: dict[str, tuple[bool, str, str]] = ARTICLES) -> Path:
    (tmp_path / "articles").mkdir()
    lines = []
    for i, (page, headline, body) in articles.items():
        (tmp_path / "articles" / f"{i}.txt").write_text(f"{headline}\nWire/ {body}\n")
        lines.append(json.dumps({"id": i, "analyst_alert": page, "why": f"why {i}", "category": "x", "actors": []}))
    (tmp_path / "labels.jsonl").write_text("\n".join(lines) + "\n")
    return tmp_path / "labels.jsonl"


def _eval(tmp_path: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    watchlist = write_watchlist(tmp_path, RULES)
    status = main(["eval", *args, "--watchlist", str(watchlist)])
    out, err = capsys.readouterr()
    return status, out, err


def test_json_report_scores_paging_per_rule_and_severity(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    labels = _corpus(tmp_path)
    status, out, err = _eval(tmp_path, str(labels), "--format", "json", capsys=capsys)
    assert status == 0, err
    report = json.loads(out)
    # a1, a2 page rightly; a3 is missed (no threat word); n1 is a false page ("threat" to salaries).
    assert report["overall"] == {"tp": 2, "fp": 1, "fn": 1, "tn": 2, "precision": 0.6667, "recall": 0.6667, "f1": 0.6667}
    rules = {r["rule"]: r for r in report["rules"]}
    assert rules["group-threat"]["pages"] and rules["group-threat"]["fired"] == 3
    assert rules["group-mention"]["pages"] is False and rules["group-mention"]["fired"] == 5
    assert rules["group-mention"]["tp"] == 3 and rules["group-mention"]["fp"] == 2
    assert rules["group-threat"]["only"] == 2
    assert set(report["severities"]) == {"high", "medium"}
    assert report["severities"]["high"]["precision"] == 0.6667
    [false_page] = report["false_pages"]
    assert false_page["id"] == "n1" and false_page["rules"] == ["group-threat"]
    assert false_page["sentence"] == "Budget threat to salaries of Hezbollah staff"
    [miss] = report["misses"]
    assert miss["id"] == "a3" and miss["rules"] == ["group-threat"] and miss["why"] == "why a3"
    assert miss["sentence"] == "Kataib Hezbollah vowed revenge on Monday for the strike."
    assert miss["missing"] == ["kind:armed-group NEAR/10 lexicon:threat: no lexicon:threat"]


def test_table_lists_false_pages_and_misses(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _eval(tmp_path, str(_corpus(tmp_path)), capsys=capsys)
    assert status == 0
    assert "6 articles, 3 should page, 3 paged" in out
    paging = next(line for line in out.splitlines() if line.startswith("paging"))
    assert paging.split()[1:] == ["2", "1", "1", "2", "0.667", "0.667", "0.667"]
    assert "n1  Budget threat to salaries of Hezbollah staff" in out
    assert "a3  Militia vows revenge on US forces" in out
    assert "missing kind:armed-group NEAR/10 lexicon:threat: no lexicon:threat" in out


@pytest.mark.parametrize("flags, status", [
    (["--min-precision", "0.6", "--min-recall", "0.6"], 0),
    (["--min-precision", "0.9"], 1),
    (["--min-recall", "0.7"], 1),
])
def test_thresholds_set_the_exit_status(tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str], status: int) -> None:
    got, _, err = _eval(tmp_path, str(_corpus(tmp_path)), *flags, capsys=capsys)
    assert got == status
    assert ("below --min-" in err) == bool(status)


def test_articles_given_explicitly_and_missing_ones_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    labels = _corpus(tmp_path)
    status, out, err = _eval(tmp_path, str(labels), str(tmp_path / "articles" / "a1.txt"), "--format", "json", capsys=capsys)
    assert status == 1  # five labelled articles were not found
    assert json.loads(out)["articles"] == 1
    assert "5 labelled article(s) not found" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("content, message", [
    ('{"id": "a1", "analyst_alert": true}\nnot json\n', "labels.jsonl:2: not JSON"),
    ('{"id": "a1"}\n', "labels.jsonl:1: analyst_alert: Field required"),
    ('{"id": "a1", "analyst_alert": true}\n{"id": "a1", "analyst_alert": false}\n', "labels.jsonl:2: id 'a1' is labelled twice"),
    ("", "no labels"),
])
def test_bad_labels_are_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str) -> None:
    (tmp_path / "labels.jsonl").write_text(content)
    status, _, err = _eval(tmp_path, str(tmp_path / "labels.jsonl"), capsys=capsys)
    assert status == 2
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_labels_or_feedback_is_required(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = _eval(tmp_path, capsys=capsys)
    assert status == 2 and "give a LABELS file or --feedback" in err


def test_progress_lines_on_stderr_while_scanning(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import flows.cli.eval as eval_cli

    monkeypatch.setattr(eval_cli, "PROGRESS_EVERY", 0.0)  # a line after every article but the last
    status, out, err = _eval(tmp_path, str(_corpus(tmp_path)), "--format", "json", capsys=capsys)
    assert status == 0 and json.loads(out)["articles"] == 6
    assert err.splitlines() == [f"tocsin: eval: scanned {n}/6 articles" for n in range(1, 6)]


def test_an_unreadable_article_is_one_line_and_the_rest_are_scored(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    labels = _corpus(tmp_path)
    (tmp_path / "articles" / "n3.txt").write_bytes(b"\x00\x01binary")
    status, out, err = _eval(tmp_path, str(labels), "--format", "json", capsys=capsys)
    assert status == 1 and json.loads(out)["articles"] == 5
    assert "n3.txt" in err and "Traceback" not in err


def test_a_miss_silenced_by_unless_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    labels = _corpus(tmp_path, {"d1": (True, "Kataib Hezbollah denied a threat to US bases", "Nothing more.")})
    rule = {"id": "threat", "title": "T", "severity": "critical", "query": "kind:armed-group NEAR/10 lexicon:threat",
            "unless": "lexicon:denial"}
    watchlist = write_watchlist(tmp_path, [rule])
    assert main(["eval", str(labels), "--watchlist", str(watchlist), "--format", "json"]) == 0
    [miss] = json.loads(capsys.readouterr().out)["misses"]
    assert miss["rules"] == ["threat"] and miss["sentence"] == "Kataib Hezbollah denied a threat to US bases"
    assert "unless lexicon:denial: holds in a sentence of it" in miss["missing"]
