"""The unit prefilter never hides an alert: on random queries and random prose, a rule's
``needs`` (which units are worth evaluating) changes nothing in what a scan reports."""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from extractors.rules import CompiledWatchlist
from extractors.scan import scan_article
from tests.helpers import article, compiled_for

LEAVES = ["drone", "rocket", "strike*", '"air base"', "actor:iran", "kind:armed-group", "lexicon:threat"]
WORDS = ["drone", "rocket", "strikes", "air base", "Iran", "Hezbollah", "threatened", "the", "said", "fell"]


leaf = st.sampled_from(LEAVES)
near_operand = leaf | st.tuples(leaf, leaf).map(lambda t: f"({t[0]} OR {t[1]})")  # NEAR takes no AND or NOT
near = st.tuples(near_operand, st.integers(0, 4), near_operand).map(lambda t: f"{t[0]} NEAR/{t[1]} {t[2]}")


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
