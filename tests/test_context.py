"""Matching that reads context (docs/rule-language.md): short forms and defined acronyms,
each as a rule sees it (fires / stays silent) and as the actors list counts it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from extractors.rules import compile_watchlist
from extractors.scan import scan_article
from extractors.watchlist import load_watchlist
from tests.helpers import LEXICONS, article

ACTORS = [
    {"id": "qais-khazali", "name": "Qais al-Khazali", "kind": "leader", "aliases": ["Qais Khazali"], "short": ["Khazali"]},
    {"id": "ircc", "name": "Iraqi Resistance Coordination Committee", "kind": "armed-group"},
    {"id": "hezbollah", "name": "Hezbollah", "kind": "armed-group"},
]
RULE = {"id": "threat", "title": "T", "severity": "high", "query": "(kind:leader OR kind:armed-group) NEAR/5 lexicon:threat"}


def scan(tmp_path: Path, *paragraphs: str, title: str = "Title", acronyms: bool = False, actors: list[dict[str, Any]] = ACTORS) -> Any:
    doc: dict[str, Any] = {"version": 1, "actors": actors, "lexicons": LEXICONS, "rules": [RULE]}
    if acronyms:
        doc["matching"] = {"acronyms": True}
    path = tmp_path / "wl.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return scan_article(article(*paragraphs, title=title), compile_watchlist(load_watchlist(path)))


def fired(result: Any) -> list[str]:
    return [e.text for a in result.alerts for e in a.evidence]


def counts(result: Any) -> dict[str, int]:
    return {a.id: a.count for a in result.actors}


# --- short forms --------------------------------------------------------------------------

def test_a_short_form_counts_after_a_full_mention(tmp_path: Path) -> None:
    result = scan(tmp_path, "Qais al-Khazali spoke on Friday. Khazali said the bases will be targeted.")
    assert fired(result) == ["Khazali said the bases will be targeted."]
    assert counts(result) == {"qais-khazali": 2}
    assert [t.text for t in result.alerts[0].evidence[0].terms] == ["Khazali", "will be targeted"]


def test_a_short_form_alone_is_no_mention(tmp_path: Path) -> None:
    # a footballer shares the name: no full mention, no actor, no alert
    result = scan(tmp_path, "Khazali said his rivals will be targeted on the pitch.")
    assert fired(result) == [] and counts(result) == {}


def test_a_short_form_before_the_full_mention_in_the_body_does_not_count(tmp_path: Path) -> None:
    result = scan(tmp_path, "Khazali made threats.", "Later, Qais al-Khazali spoke.")
    assert fired(result) == [] and counts(result) == {"qais-khazali": 1}


def test_the_headline_may_use_the_short_form_when_the_body_has_the_full_one(tmp_path: Path) -> None:
    result = scan(tmp_path, "The leader of Asaib Ahl al-Haq, Qais al-Khazali, spoke.", title="Khazali threatens US forces")
    assert fired(result) == ["Khazali threatens US forces"]
    assert fired(scan(tmp_path, "A match report.", title="Khazali threatens US forces")) == []


def test_the_full_name_is_not_also_a_short_form_mention(tmp_path: Path) -> None:
    # "Khazali" inside "Qais al-Khazali" is one mention, the longest alias
    assert counts(scan(tmp_path, "Qais al-Khazali threatened.")) == {"qais-khazali": 1}


# --- defined acronyms ---------------------------------------------------------------------

def test_a_defined_acronym_is_an_alias_for_the_rest_of_the_article(tmp_path: Path) -> None:
    text = ["The Iraqi Resistance Coordination Committee (IRCC) met.", "The IRCC said U.S. bases will be targeted."]
    result = scan(tmp_path, *text, acronyms=True)
    assert fired(result) == ["The IRCC said U.S. bases will be targeted."]
    assert counts(result) == {"ircc": 3}  # the name, "(IRCC)" and the later IRCC


def test_acronyms_are_off_unless_the_watch_list_turns_them_on(tmp_path: Path) -> None:
    text = ["The Iraqi Resistance Coordination Committee (IRCC) met.", "The IRCC said U.S. bases will be targeted."]
    result = scan(tmp_path, *text)
    assert fired(result) == [] and counts(result) == {"ircc": 1}


def test_an_acronym_before_its_definition_or_never_defined_does_not_count(tmp_path: Path) -> None:
    result = scan(tmp_path, "The IRCC made threats.", "The Iraqi Resistance Coordination Committee (IRCC) met.", acronyms=True)
    assert fired(result) == []
    assert fired(scan(tmp_path, "The IRCC made threats.", acronyms=True)) == []
    # only right after an alias: a parenthesis elsewhere defines nothing
    assert fired(scan(tmp_path, "The Iraqi Resistance Coordination Committee met (IRCC). The IRCC made threats.", acronyms=True)) == []


def test_an_acronym_is_case_sensitive_and_a_whole_word(tmp_path: Path) -> None:
    result = scan(tmp_path, "The Iraqi Resistance Coordination Committee (IRCC) met. Ircc threats, IRCCs threats.", acronyms=True)
    assert fired(result) == []


def test_a_defined_acronym_counts_in_the_headline(tmp_path: Path) -> None:
    result = scan(tmp_path, "The Iraqi Resistance Coordination Committee (IRCC) met.", title="IRCC threatens U.S. bases", acronyms=True)
    assert fired(result) == ["IRCC threatens U.S. bases"]


def test_an_acronym_must_abbreviate_the_alias_it_follows(tmp_path: Path) -> None:
    # the watched alias only ends a longer name: (KDPI) is not Iran's
    actors = [*ACTORS, {"id": "iran", "name": "Iran", "kind": "armed-group"}]
    text = "Kurdish fighters of the Democratic Party of Iran (KDPI) met. The KDPI made threats."
    result = scan(tmp_path, text, acronyms=True, actors=actors)
    assert fired(result) == [] and counts(result) == {"iran": 1}
    # initials in order, small words may be skipped: Asa'ib Ahl al-Haq (AAH), Kataib Sayyid al-Shuhada (KSS)
    actors = [*ACTORS, {"id": "kss", "name": "Kataib Sayyid al-Shuhada", "kind": "armed-group"}]
    text = "Kataib Sayyid al-Shuhada (KSS) met. The KSS made threats."
    assert fired(scan(tmp_path, text, acronyms=True, actors=actors)) == ["The KSS made threats."]


def test_a_parenthesised_word_is_no_acronym(tmp_path: Path) -> None:
    result = scan(tmp_path, "Hezbollah (Lebanon) met. Lebanon made threats.", acronyms=True)
    assert fired(result) == [] and counts(result) == {"hezbollah": 1}
