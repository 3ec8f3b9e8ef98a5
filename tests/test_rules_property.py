"""Two short cuts of the rule engine, held to the plain way on random input: the unit
prefilter (a rule's ``needs``, which units are worth evaluating) changes nothing in what
a scan reports; and ``NEAR`` pairing, which compares each occurrence only with those
close enough, finds what comparing every pair finds."""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from extractors.rules import CompiledWatchlist, Occurrence, near_pairs
from extractors.scan import scan_article
from tests.helpers import article, compiled_for

LEAVES = ["drone", "rocket", "strike*", '"air base"', "actor:iran", "kind:armed-group", "lexicon:threat"]
WORDS = ["drone", "rocket", "strikes", "air base", "Iran", "Hezbollah", "threatened", "the", "said", "fell"]


leaf = st.sampled_from(LEAVES)
near_operand = leaf | st.tuples(leaf, leaf).map(lambda t: f"({t[0]} OR {t[1]})")  # NEAR takes no AND or NOT
near = st.tuples(near_operand, st.sampled_from(["NEAR", "BEFORE"]), st.integers(0, 4), near_operand).map(
    lambda t: f"{t[0]} {t[1]}/{t[2]} {t[3]}"
)


def _combine(parts: tuple[str, str, str]) -> str:
    op, a, b = parts
    return {"and": f"({a} AND {b})", "or": f"({a} OR {b})", "not": f"({a} AND NOT {b})"}[op]


queries = st.recursive(
    leaf | near, lambda inner: st.tuples(st.sampled_from(["and", "or", "not"]), inner, inner).map(_combine), max_leaves=5
) | leaf.map(lambda x: f"NOT {x}")
sentence = st.lists(st.sampled_from(WORDS), min_size=1, max_size=7).map(lambda ws: " ".join(ws).capitalize() + ".")
paragraphs = st.lists(st.lists(sentence, min_size=1, max_size=3).map(" ".join), min_size=1, max_size=3)


def without_prefilter(compiled: CompiledWatchlist) -> CompiledWatchlist:
    return dataclasses.replace(compiled, rules=[dataclasses.replace(r, needs=()) for r in compiled.rules])


@settings(max_examples=200, deadline=None)
@given(queries, st.sampled_from(["sentence", "paragraph", "article"]), paragraphs)
def test_prefilter_changes_no_alert(query: str, scope: str, body: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        compiled = compiled_for(Path(tmp), query, scope)
    a = article(*body, title="Drone strikes on the air base")
    assert scan_article(a, compiled) == scan_article(a, without_prefilter(compiled))


spans = st.lists(st.tuples(st.integers(0, 30), st.integers(0, 3)), max_size=12).map(
    lambda ps: [(first, first + length) for first, length in ps]  # first and last word
)


@settings(max_examples=500, deadline=None)
@given(spans, spans, st.integers(0, 5))
def test_near_pairs_agree_with_every_pair_compared(left_words: list[tuple[int, int]], right_words: list[tuple[int, int]], n: int) -> None:
    # Word k spans characters [10k, 10k + 5): an occurrence of words i..j is [10i, 10j + 5).
    def occurrence(words: tuple[int, int], tag: str) -> Occurrence:
        return Occurrence(10 * words[0], 10 * words[1] + 5, (f"{tag}{words}",))  # type: ignore[arg-type]

    left = [occurrence(w, "L") for w in left_words]
    right = [occurrence(w, "R") for w in right_words]

    def words(o: Occurrence) -> tuple[int, int]:
        return o.start // 10, (o.end - 5) // 10

    def apart(a: Occurrence, b: Occurrence) -> int:
        if a.start > b.start:
            a, b = b, a
        return 0 if b.start < a.end else words(b)[0] - words(a)[1] - 1

    every_pair = sorted(
        Occurrence(min(a.start, b.start), max(a.end, b.end), a.hits + b.hits)
        for a in left
        for b in right
        if (a.start, a.end) != (b.start, b.end) and apart(a, b) <= n
    )
    assert sorted(near_pairs(left, right, n, words)) == every_pair
    # BEFORE/n: the same pairs, those where the right one starts after the left one ends
    assert sorted(near_pairs(left, right, n, words, ordered=True)) == sorted(
        o for o, a, b in (
            (Occurrence(min(a.start, b.start), max(a.end, b.end), a.hits + b.hits), a, b) for a in left for b in right
        )
        if o in every_pair and a.end <= b.start
    )
