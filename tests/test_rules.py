"""Spec §2, row by row: which units a query fires on, and its evidence."""

from __future__ import annotations

from pathlib import Path

import pytest

from extractors.scan import scan_article
from extractors.rules import compile_watchlist
from tests.helpers import article, compiled_for, watchlist


def fires(tmp_path: Path, query: str, *paragraphs: str, scope: str = "sentence") -> list[str]:
    """The evidence texts of the rule's alert (empty if it does not fire)."""
    result = scan_article(article(*paragraphs), compiled_for(tmp_path, query, scope))
    return [e.text for a in result.alerts for e in a.evidence]


def terms(tmp_path: Path, query: str, text: str) -> list[str]:
    result = scan_article(article(text), compiled_for(tmp_path, query))
    return [t.text for a in result.alerts for e in a.evidence for t in e.terms]


def test_word_is_case_insensitive(tmp_path: Path) -> None:
    assert fires(tmp_path, "attack", "An ATTACK came.", "No such thing.") == ["An ATTACK came."]


def test_word_with_wildcard(tmp_path: Path) -> None:
    assert terms(tmp_path, "attack*", "They attacked; attacks and attacking.") == ["attacked", "attacks", "attacking"]


def test_exact_phrase_with_wildcard_inside(tmp_path: Path) -> None:
    assert fires(tmp_path, '"will be targeted"', "Bases will be targeted.", "Bases will not be targeted.") == ["Bases will be targeted."]
    assert terms(tmp_path, '"vow* to strike"', "They vowed to strike.") == ["vowed to strike"]


def test_actor_matches_its_aliases_and_members_transitively(tmp_path: Path) -> None:
    assert terms(tmp_path, "actor:kataib-hezbollah", "KH fired.") == ["KH"]
    assert terms(tmp_path, "actor:iraqi-militias", "Kataib Hezbollah fired.") == ["Kataib Hezbollah"]
    assert terms(tmp_path, "actor:axis", "Kataib Hezbollah and Hezbollah fired.") == ["Kataib Hezbollah", "Hezbollah"]
    assert fires(tmp_path, "actor:hezbollah", "Kataib Hezbollah fired.") == []


def test_kind_matches_any_alias_of_any_actor_of_that_kind(tmp_path: Path) -> None:
    assert terms(tmp_path, "kind:state", "Iran and the U.S. and the US talked.") == ["Iran", "U.S.", "US"]


def test_lexicon_matches_any_term(tmp_path: Path) -> None:
    assert terms(tmp_path, "lexicon:threat", "A threat: bases will be targeted.") == ["threat", "will be targeted"]


@pytest.mark.parametrize(
    ("text", "distance", "expected"),
    [
        ("Iran threatened", 0, True),  # adjacent words are 0 apart
        ("Iran openly threatened", 0, False),
        ("Iran openly threatened", 1, True),
        ("threats from Iran", 1, True),  # either order
        ("threats from far Iran", 1, False),
        ("Iran's U.S.-based 1,520 threats", 3, True),  # U.S. and 1,520 are one word each; the hyphen splits
        ("Iran's U.S.-based 1,520 threats", 2, False),
    ],
)
def test_near_counts_words_between(tmp_path: Path, text: str, distance: int, expected: bool) -> None:
    assert bool(fires(tmp_path, f"actor:iran NEAR/{distance} lexicon:threat", text)) is expected


def test_near_in_a_long_sentence_pairs_only_close_hits(tmp_path: Path) -> None:
    text = "Iran said the attack came. " + "Iran waited a long time for an attack that never came as planned " * 300 + "."
    used = terms(tmp_path, "actor:iran NEAR/3 attack", text)
    assert used == ["Iran", "attack"]  # in the long sentence, each Iran is 5 or more words from each attack
    assert len(terms(tmp_path, "actor:iran NEAR/5 attack", text)) == 2 + 2 * 299  # each attack and the next Iran


def test_near_with_or_group_and_chained_near(tmp_path: Path) -> None:
    assert fires(tmp_path, "(attack OR strike) NEAR/2 actor:iran", "A strike by Iran.")
    assert fires(tmp_path, "actor:iran NEAR/2 attack NEAR/2 bases", "Iran will attack the bases.")
    assert not fires(tmp_path, "actor:iran NEAR/2 attack NEAR/1 bases", "Iran will attack all the bases.")


@pytest.mark.parametrize(
    ("text", "distance", "expected"),
    [
        ("Iran threatened", 0, True),  # adjacent words are 0 apart
        ("Iran openly threatened", 0, False),
        ("Iran openly threatened", 1, True),
        ("threats from Iran", 5, False),  # the wrong order never matches, however close
        ("Israel threatened Iran", 5, False),
        ("threats from Iran and again threats", 2, True),  # the later threats come after Iran
        ("threats from Iran and again more threats", 2, False),
    ],
)
def test_before_is_near_in_one_order(tmp_path: Path, text: str, distance: int, expected: bool) -> None:
    assert bool(fires(tmp_path, f"actor:iran BEFORE/{distance} lexicon:threat", text)) is expected


def test_before_in_the_same_unit_only_and_with_groups(tmp_path: Path) -> None:
    assert fires(tmp_path, "actor:iran BEFORE/5 lexicon:threat", "Iran spoke. Threats followed.") == []
    assert fires(tmp_path, "(actor:iran OR actor:hezbollah) BEFORE/3 lexicon:threat", "Threats. Hezbollah threatened.") == ["Hezbollah threatened."]
    assert terms(tmp_path, "actor:iran BEFORE/3 lexicon:threat", "A threat, Iran said: threats.") == ["Iran", "threats"]
    # overlapping occurrences are not one before the other
    assert fires(tmp_path, '"Iran threatened" BEFORE/3 threat*', "Iran threatened.") == []
    assert fires(tmp_path, '"Iran threatened" NEAR/3 threat*', "Iran threatened.") == ["Iran threatened."]


def test_not_excludes_the_unit(tmp_path: Path) -> None:
    q = "lexicon:threat AND NOT lexicon:denial"
    assert fires(tmp_path, q, "A threat was made. A threat was denied.") == ["A threat was made."]


def test_not_alone_fires_on_every_unit_without_the_term(tmp_path: Path) -> None:
    assert fires(tmp_path, "NOT attack", "One. An attack.", scope="paragraph") == ["Title"]


def test_and_or(tmp_path: Path) -> None:
    assert fires(tmp_path, "actor:iran AND attack", "Iran spoke. Iran will attack.") == ["Iran will attack."]
    assert fires(tmp_path, "drone OR rocket", "A drone. A rocket. A car.") == ["A drone.", "A rocket."]


def test_every_matching_unit_is_evidence_whichever_term_is_rarer(tmp_path: Path) -> None:
    # Units are looked for around the required term with the fewest hits; both ways round, all are found.
    many_attacks = ["Iran will attack. An attack. Another attack.", "Attack, attack. Iran and an attack."]
    assert fires(tmp_path, "actor:iran AND attack", *many_attacks) == ["Iran will attack.", "Iran and an attack."]
    many_irans = ["Iran, Iran. Iran will attack. Iran.", "Iran! Iran and an attack. Iran spoke."]
    assert fires(tmp_path, "actor:iran AND attack", *many_irans) == ["Iran will attack.", "Iran and an attack."]


def test_units_are_prefiltered_by_what_the_query_needs_and_no_more(tmp_path: Path) -> None:
    # NEAR (a OR b) needs one of a, b in the unit; an OR with a NOT branch needs nothing.
    text = "Iran spoke. Iran sent a drone. A rocket fell."
    assert fires(tmp_path, "actor:iran NEAR/5 (drone OR rocket)", text) == ["Iran sent a drone."]
    assert fires(tmp_path, "actor:iran AND (NOT drone OR rocket)", text) == ["Iran spoke."]
    assert fires(tmp_path, "(actor:iran AND drone) OR rocket", text) == ["Iran sent a drone.", "A rocket fell."]


def test_grouping_changes_precedence(tmp_path: Path) -> None:
    text = "Iran drone. Rocket."
    assert fires(tmp_path, "actor:iran AND drone OR rocket", text) == ["Iran drone.", "Rocket."]
    assert fires(tmp_path, "actor:iran AND (drone OR rocket)", text) == ["Iran drone."]


def test_scopes(tmp_path: Path) -> None:
    text = "Iran spoke. Later, an attack."
    assert fires(tmp_path, "actor:iran AND attack", text, scope="sentence") == []
    assert fires(tmp_path, "actor:iran AND attack", text, scope="paragraph") == [text]
    assert fires(tmp_path, "actor:iran AND attack", "Iran spoke.", "An attack.", scope="paragraph") == []
    assert len(fires(tmp_path, "actor:iran AND attack", "Iran spoke.", "An attack.", scope="article")) == 1


def test_title_is_its_own_sentence(tmp_path: Path) -> None:
    result = scan_article(article("Iran denies.", title="Attack on base"), compiled_for(tmp_path, "actor:iran AND attack"))
    assert result.alerts == []
    result = scan_article(article("Body.", title="Iran threatens attack"), compiled_for(tmp_path, "actor:iran AND attack"))
    assert [e.text for e in result.alerts[0].evidence] == ["Iran threatens attack"]


def test_evidence_offsets_index_the_article_text(tmp_path: Path) -> None:
    a = article("First \u201cquote\u201d \u2014 Kata\u2019ib  Hezbollah vowed to strike.", "Iran\u2019s threats.")
    result = scan_article(a, compiled_for(tmp_path, "(actor:axis OR actor:iran) NEAR/5 lexicon:threat"))
    evidence = [e for alert in result.alerts for e in alert.evidence]
    assert len(evidence) == 2
    for e in evidence:
        assert a.text[e.start : e.end] == e.text
        for t in e.terms:
            assert a.text[t.start : t.end] == t.text


def test_alert_actors_are_the_actors_among_the_evidence_terms(tmp_path: Path) -> None:
    result = scan_article(article("Iran and KH made threats. Hezbollah spoke."), compiled_for(tmp_path, "actor:kataib-hezbollah NEAR/3 lexicon:threat"))
    assert result.alerts[0].actors == ["kataib-hezbollah"]
    assert [a.id for a in result.actors] == ["iran", "kataib-hezbollah", "hezbollah"]


def unless_fires(tmp_path: Path, query: str, unless: str, *paragraphs: str, scope: str = "sentence") -> list[str]:
    rule = {"id": "r", "title": "R", "severity": "high", "scope": scope, "query": query, "unless": unless}
    result = scan_article(article(*paragraphs), compile_watchlist(watchlist(tmp_path, [rule])))
    return [e.text for a in result.alerts for e in a.evidence]


def test_unless_silences_the_units_where_it_matches(tmp_path: Path) -> None:
    text = "Hezbollah threatened the bases. Iran threatened Hezbollah. Hezbollah marked the anniversary of threats."
    query, unless = "actor:hezbollah NEAR/5 lexicon:threat", "actor:iran BEFORE/3 lexicon:threat OR anniversary"
    assert unless_fires(tmp_path, query, unless, text) == ["Hezbollah threatened the bases."]
    # wider scopes: the sentences where the unless-query holds are left out, the rest still count
    assert unless_fires(tmp_path, query, unless, text, scope="paragraph") == [text]
    assert unless_fires(tmp_path, query, unless, "Iran threatened Hezbollah. Hezbollah spoke.", scope="paragraph") == []
    query = "actor:hezbollah AND lexicon:threat"  # across sentences, in a paragraph
    assert unless_fires(tmp_path, query, unless, "Hezbollah spoke. A threat followed.", scope="paragraph")
    assert unless_fires(tmp_path, query, unless, "Hezbollah spoke. Iran threatened.", scope="paragraph") == []
    assert unless_fires(tmp_path, query, unless, "Hezbollah spoke.", "Iran threatened.", scope="article") == []
    assert unless_fires(tmp_path, query, unless, "Hezbollah spoke.", "Iran threatened. Threats grew.", scope="article")


def test_unless_terms_are_never_evidence(tmp_path: Path) -> None:
    rule = {"id": "r", "title": "R", "severity": "high", "query": "actor:hezbollah NEAR/5 lexicon:threat", "unless": "denied"}
    result = scan_article(article("Hezbollah made threats, and Iran spoke."), compile_watchlist(watchlist(tmp_path, [rule])))
    assert [t.text for t in result.alerts[0].evidence[0].terms] == ["Hezbollah", "threats"]
