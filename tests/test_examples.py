"""Rule tests inside the watch list: `rules[].examples` run by `tocsin check` (docs/rule-language.md)."""

from __future__ import annotations

from pathlib import Path

from extractors.examples import check_examples
from extractors.rules import compile_watchlist
from tests.helpers import watchlist
from tests.test_cli_scan import run

RULE = {"id": "threat", "title": "T", "severity": "high", "query": "actor:hezbollah BEFORE/5 lexicon:threat"}


def test_examples_that_hold_pass_and_those_that_do_not_are_named(tmp_path: Path) -> None:
    examples = {
        "fire": ["Hezbollah threatened the base.", "Hezbollah spoke.\nHezbollah vowed to strike."],
        "silent": ["Israel threatened Hezbollah.", "Hezbollah spoke. Threats came later."],
    }
    wl = watchlist(tmp_path, [{**RULE, "examples": examples}])
    assert check_examples(wl, compile_watchlist(wl)) == (4, [])

    wrong = {"fire": ["Threats against Hezbollah."], "silent": ["Hezbollah threatened the base."]}
    wl = watchlist(tmp_path, [{**RULE, "examples": wrong}])
    total, failures = check_examples(wl, compile_watchlist(wl))
    assert total == 2
    assert [(f.rule, f.expected, f.index, f.text, f.evidence) for f in failures] == [
        ("threat", "fire", 0, "Threats against Hezbollah.", None),
        ("threat", "silent", 0, "Hezbollah threatened the base.", "Hezbollah threatened the base."),
    ]


def test_an_example_is_checked_against_its_own_rule_only(tmp_path: Path) -> None:
    other = {"id": "other", "title": "O", "severity": "low", "query": "lexicon:threat"}
    wl = watchlist(tmp_path, [other, {**RULE, "examples": {"silent": ["A threat was made."]}}])
    assert check_examples(wl, compile_watchlist(wl)) == (1, [])


WATCHLIST = """\
version: 1
actors:
  - {id: hezbollah, name: Hezbollah, kind: armed-group}
lexicons:
  threat: [threat*]
rules:
  - id: group-threat
    title: Group threatens
    severity: high
    query: actor:hezbollah BEFORE/5 lexicon:threat
    examples:
      fire:
        - Hezbollah threatened the base.
        - Threats against Hezbollah grew.
      silent:
        - Israel threatened Hezbollah.
        - Hezbollah issued new threats.
"""


def test_check_reports_each_failing_example_with_file_line_and_rule_and_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "wl.yaml"
    path.write_text(WATCHLIST)
    proc = run("check", "--watchlist", str(path))
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.splitlines() == [
        f"tocsin: {path}:14: rule 'group-threat': example does not fire: 'Threats against Hezbollah grew.'",
        f"tocsin: {path}:17: rule 'group-threat': silent example fires on 'Hezbollah issued new threats.': 'Hezbollah issued new threats.'",
        "tocsin: 2 rule example(s) fail",
    ]
    path.write_text(WATCHLIST.replace("        - Threats against Hezbollah grew.\n", "").replace("        - Hezbollah issued new threats.\n", ""))
    proc = run("check", "--watchlist", str(path))
    assert proc.returncode == 0, proc.stderr
    assert "2 of 2 examples pass" in proc.stdout


def test_every_rule_of_the_default_watch_list_carries_examples_that_pass() -> None:
    from extractors.watchlist import load_watchlist
    from tests.helpers import ROOT

    wl = load_watchlist(ROOT / "deployments" / "watchlist.yaml")
    assert all(r.examples and r.examples.fire and r.examples.silent for r in wl.rules)
    total, failures = check_examples(wl, compile_watchlist(wl))
    assert total >= 2 * len(wl.rules) and failures == []
