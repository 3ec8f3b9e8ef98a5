"""The matcher agrees with an obviously-correct reference on random texts and alias sets.

The reference tokenizes the normalized text into words (the spec's word
definition), tries every alias at every word start by plain string comparison,
and resolves overlaps by sorting. No automaton, no boundary predicates."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from extractors.matcher import WORD, Matcher
from extractors.normalize import normalize, normalize_term

VOCAB = ["iran", "Iran", "irani", "al", "haq", "Haq", "kh", "KH", "us", "u.s", "attack", "attacks", "1,520", "520", "kata'ib", "ib", "s", "Ṣadr", "ṣadr", "حزب", "été"]
SEPS = [" ", " ", " ", "-", " - ", "'s ", "s' ", ". ", ", ", "\u2014", "\n", "'", ".", ","]


def reference(text: str, aliases: list[tuple[str, bool, bool]]) -> set[tuple[int, int, str]]:
    norm = normalize(text)
    low, cased = norm.lower, norm.cased
    tokens = [m.span() for m in WORD.finditer(low)]
    starts = {s for s, _ in tokens}
    ends = {e for _, e in tokens}
    token_end = {s: e for s, e in tokens}
    possessive_ends = {e - 2 for _, e in tokens if low[e - 2 : e] == "'s" and e - 2 > 0 and low[e - 3].isalpha()}
    found = []
    for alias, exact, wild in aliases:
        key = normalize_term(alias)
        if key.endswith("'s") and not wild:
            key = key[:-2]
        exact_form = normalize(alias.strip()).cased.strip()
        for i in starts:
            if low.startswith(key, i):
                j = i + len(key)
                if wild:
                    j = next(e for s, e in tokens if s <= j - 1 < e) if j > i else token_end[i]
                    j = max(j, i + len(key))
                    if j not in ends:
                        continue
                elif j not in ends and j not in possessive_ends:
                    continue
                if exact and cased[i:j] != exact_form:
                    continue
                found.append((i, j, alias))
    found.sort(key=lambda f: (f[0] - f[1], f[0]))
    kept: list[tuple[int, int, str]] = []
    for f in found:
        if all(f[1] <= k[0] or k[1] <= f[0] or (f[0], f[1]) == (k[0], k[1]) for k in kept):
            kept.append(f)
    return set(kept)


texts = st.lists(st.tuples(st.sampled_from(VOCAB), st.sampled_from(SEPS)), min_size=1, max_size=30).map(
    lambda parts: "".join(w + s for w, s in parts)
)
alias = st.lists(st.sampled_from([w for w in VOCAB if w[0].isalnum()]), min_size=1, max_size=3).map(" ".join)
alias_sets = st.lists(st.tuples(alias, st.booleans(), st.booleans()), min_size=1, max_size=8, unique_by=lambda a: a[0].lower())


@settings(max_examples=400, deadline=None)
@given(texts, alias_sets, st.lists(st.sampled_from("gh"), min_size=8, max_size=8))
def test_matcher_agrees_with_reference(text: str, aliases: list[tuple[str, bool, bool]], groups: list[str]) -> None:
    """Each alias in one of two groups; overlaps are resolved within a group only."""
    aliases = [(a, exact and not wild, wild) for a, exact, wild in aliases]
    matcher = Matcher([(a + ("*" if wild else ""), exact, a, g) for (a, exact, wild), g in zip(aliases, groups)])
    got = {(h.start, h.end, h.label) for h in matcher.find(normalize(text))}
    expected = set().union(*(reference(text, [a for a, g in zip(aliases, groups) if g == group]) for group in "gh"))
    assert got == expected
