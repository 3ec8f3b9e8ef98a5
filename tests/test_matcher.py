"""Spec §3, one rule at a time: what matches, what does not, and where."""

from __future__ import annotations

import pytest

from extractors.matcher import Matcher, TermError
from extractors.normalize import normalize


def found(text: str, *terms: str, exact: tuple[str, ...] = ()) -> list[str]:
    """The original text of every hit, in order."""
    matcher = Matcher([(t, False, t, "g") for t in terms] + [(t, True, t, "g") for t in exact])
    norm = normalize(text)
    spans = [(norm.to_original(h.start), norm.to_original(h.end)) for h in matcher.find(norm)]
    return [text[s:e] for s, e in spans]


def test_case_insensitive() -> None:
    assert found("IRAN and iran and Iran", "Iran") == ["IRAN", "iran", "Iran"]


def test_nfkc_fullwidth_letters() -> None:
    assert found("Ｉｒａｎ said", "Iran") == ["Ｉｒａｎ"]


def test_typographic_apostrophe_matches_ascii() -> None:
    assert found("Kata\u2019ib Hezbollah fired", "Kata'ib Hezbollah") == ["Kata\u2019ib Hezbollah"]


def test_dashes_are_hyphens() -> None:
    assert found("an Iran\u2013backed group", "Iran-backed") == ["Iran\u2013backed"]


def test_whitespace_runs_are_one_space_and_offsets_stay_original() -> None:
    text = "x  Kataib \t Hezbollah  y"
    assert found(text, "Kataib Hezbollah") == ["Kataib \t Hezbollah"]


def test_whole_words_only() -> None:
    assert found("Iranian officials in Iran", "Iran") == ["Iran"]
    assert found("Tehran", "Iran") == []


def test_hyphen_or_space_between_alias_words_match_either() -> None:
    assert found("Iran backed and Iran-backed", "Iran-backed") == ["Iran backed", "Iran-backed"]
    assert found("Iran backed and Iran-backed", "Iran backed") == ["Iran backed", "Iran-backed"]


def test_hyphen_separates_words() -> None:
    assert found("Asaib Ahl al-Haq", "Haq") == ["Haq"]
    assert found("Iran-backed", "Iran") == ["Iran"]


def test_possessive_is_ignored() -> None:
    assert found("Iran's proxies", "Iran") == ["Iran"]
    assert found("Iran\u2019s proxies", "Iran's") == ["Iran"]
    assert found("the militias' leaders", "militias") == ["militias"]
    assert found("Iran's's", "Iran") == []  # one possessive, not two (found by the property test)


def test_apostrophe_between_letters_stays_inside_the_word() -> None:
    assert found("Kata'ib", "ib") == []
    assert found("Kata'ib", "Kata") == []


def test_dotted_abbreviations_are_one_word() -> None:
    assert found("U.S. forces", "U.S.") == ["U.S."]
    assert found("U.S. forces", "S", exact=("S",)) == []
    assert found("the U.S.A.", "U.S.") == []


def test_digit_groups_are_one_word() -> None:
    assert found("1,520 fighters", "520") == []
    assert found("1,520 fighters", "1,520") == ["1,520"]


def test_em_dash_between_words_separates_like_a_space() -> None:
    assert found("Hezbollah\u2014Israel war", "Hezbollah") == ["Hezbollah"]
    assert found("Hezbollah\u2014Israel war", "Hezbollah Israel") == ["Hezbollah\u2014Israel"]


def test_other_punctuation_must_appear_literally() -> None:
    assert found("US forces", "U.S. forces") == []
    assert found("U.S. forces", "U.S. forces") == ["U.S. forces"]


def test_longest_alias_wins_then_leftmost() -> None:
    assert found("Kataib Hezbollah threatened", "Hezbollah", "Kataib Hezbollah") == ["Kataib Hezbollah"]
    assert found("a b c", "a b", "b c") == ["a b"]


def test_a_long_chain_of_overlapping_hits_keeps_every_other_one() -> None:
    # "sha sha" at every word overlaps its neighbours: one chain of 1,999 hits, resolved leftmost first.
    assert found("sha " * 2000, "sha sha", "sha") == ["sha sha"] * 1000


def test_exact_aliases_are_case_sensitive() -> None:
    assert found("KH and kh and Kh", exact=("KH",)) == ["KH"]


def test_trailing_wildcard_matches_any_continuation() -> None:
    assert found("attack, attacks, attacked, counterattack", "attack*") == ["attack", "attacks", "attacked"]


def test_wildcard_inside_a_phrase() -> None:
    assert found("they vowed to strike and vows to strike", "vow* to strike") == ["vowed to strike", "vows to strike"]


def test_phrases_do_not_cross_paragraphs() -> None:
    assert found("Kataib\nHezbollah", "Kataib Hezbollah") == []


@pytest.mark.parametrize("bad", ["*", "a**", "at*ck", "", "  "])
def test_bad_terms_are_errors(bad: str) -> None:
    with pytest.raises(TermError):
        Matcher([(bad, False, bad, "g")])


def test_offsets_after_non_ascii_text_are_character_offsets() -> None:
    norm = normalize("Le président à Béryte: Hezbollah et Muṣṭafa al-Ṣadr, حزب الله")
    m = Matcher([("Hezbollah", False, "hez", "a"), ("Ṣadr", False, "sadr", "a"), ("حزب الله", False, "hzb", "a")])
    assert [(norm.lower[h.start : h.end], h.label) for h in m.find(norm)] == [("hezbollah", "hez"), ("ṣadr", "sadr"), ("حزب الله", "hzb")]


def test_a_matcher_survives_pickling() -> None:
    import pickle

    m = pickle.loads(pickle.dumps(Matcher([("Hezbollah", False, "hez", "a"), ("attack*", False, "atk", "b")])))
    assert [h.label for h in m.find(normalize("Hezbollah attacked"))] == ["hez", "atk"]
    assert pickle.loads(pickle.dumps(Matcher([]))).find(normalize("anything")) == []
