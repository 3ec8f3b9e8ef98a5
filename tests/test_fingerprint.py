"""The near-duplicate threshold, checked on the story families of test_entries."""

from __future__ import annotations

from extractors.article import Article
from extractors.fingerprint import THRESHOLD, content_fingerprint, from_bytes, signature, to_bytes
from tests.test_entries import OTHER, copy


def test_reworded_copies_are_above_the_threshold_and_other_stories_far_below() -> None:
    a = signature(copy(1, "Kataib Hezbollah threatens US bases in Iraq"))
    b = signature(copy(2, "Iraqi militia vows to hit American forces", " on Monday"))
    c = signature(copy(3, "Iran-backed group warns Washington after strikes", ", according to the statement"))
    other = signature(Article(id="o", title="Kataib Hezbollah denies Basra killing", paragraphs=OTHER))
    assert min(a.jaccard(b), a.jaccard(c), b.jaccard(c)) > THRESHOLD + 0.2
    assert max(a.jaccard(other), b.jaccard(other)) < 0.1


def test_signatures_survive_the_database_round_trip() -> None:
    s = signature(copy(1, "Title"))
    assert from_bytes(to_bytes(s)).jaccard(s) == 1.0


def test_exact_fingerprint_ignores_case_and_spacing() -> None:
    a = Article(id="a", title="Iran  Threatens", paragraphs=["Body text."])
    b = Article(id="b", title="iran threatens", paragraphs=["Body   text"])
    assert content_fingerprint(a) == content_fingerprint(b)
    assert content_fingerprint(a) != content_fingerprint(Article(id="c", title="Iran threatens", paragraphs=["Other."]))
