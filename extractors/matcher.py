"""Whole-word multi-pattern matching over normalized text (spec §3).

Every term (alias, lexicon entry, query word or phrase) is compiled to an
Aho-Corasick key: its normalized text up to the first ``*``. One pass of the
automaton over the ``lower`` text finds every key; each raw hit is then kept
only if it starts and ends on word boundaries, satisfies its wildcard tail (a
regex anchored where the key ends) and, for exact-case aliases, has the right
case. Overlapping hits of one group are resolved longest first, then leftmost.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable
from functools import lru_cache
from typing import NamedTuple

import ahocorasick

from extractors.normalize import Normalized, normalize, normalize_term

# A word: letters and digits; an apostrophe between letters, a dot inside a
# dotted abbreviation (U.S.) and a comma inside a digit group (1,520) stay inside it.
WORD = re.compile(r"[^\W_]+(?:(?:(?<=[^\W\d_])'(?=[^\W\d_])|\.(?=[^\W_])|(?<=\d),(?=\d))[^\W_]+)*")
_CONTINUATION = r"(?:[^\W_]|(?<=[^\W\d_])'(?=[^\W\d_])|\.(?=[^\W_])|(?<=\d),(?=\d))*"


class Hit(NamedTuple):
    """A kept match, in normalized offsets. ``label`` is what the caller attached to the term."""

    start: int
    end: int
    label: Hashable
    group: Hashable


class _Pattern(NamedTuple):
    key: str  # the haystack form: punctuation as spaces, between spaces (no trailing one if wild)
    literal: str  # the normalized text a hit must equal (up to any wildcard)
    tail: re.Pattern[str] | None
    exact: str | None
    multiword: bool
    label: Hashable
    group: Hashable


class TermError(ValueError):
    pass


class Matcher:
    """Compile once from ``(term, exact, label, group)`` tuples; then ``find`` per text.

    The automaton runs over a haystack copy of the ``lower`` text in which every
    character other than a letter or digit is a space, between two spaces; each
    key is framed by spaces too (a wildcard key has no trailing one). So a raw hit
    always starts at a word start and ends at a word end, and the few checks left (the term's own punctuation, word end, wildcard tail,
    exact case, no paragraph break) run on the hits that can matter."""

    def __init__(self, terms: Iterable[tuple[str, bool, Hashable, Hashable]]) -> None:
        by_key: dict[str, set[_Pattern]] = {}
        for text, exact, label, group in terms:
            pattern = compile_term(text, exact=exact, label=label, group=group)
            by_key.setdefault(pattern.key, set()).add(pattern)
        self._automaton = ahocorasick.Automaton()
        for key, patterns in by_key.items():
            self._automaton.add_word(key, (len(key), tuple(patterns)))
        if by_key:
            self._automaton.make_automaton()

    def find(self, norm: Normalized) -> list[Hit]:
        """Every boundary-valid hit, overlaps resolved within each group."""
        if self._automaton.kind != ahocorasick.AHOCORASICK:
            return []
        text, cased = norm.lower, norm.cased
        n = len(text)
        haystack = " " + text.translate(_ASCII_BOUNDARY if text.isascii() else _boundary_table(text)) + " "
        hits: list[Hit] = []
        for last, (length, patterns) in self._automaton.iter(haystack):
            start = last - length + 1
            if start and text[start - 1] != " " and not _starts_word(text, start):
                continue
            for _key, literal, tail, exact, multiword, label, group in patterns:
                if not text.startswith(literal, start):
                    continue
                if tail is None:
                    end = last - 1
                else:
                    m = tail.match(text, last)
                    if m is None:
                        continue
                    end = m.end()
                if end < n and text[end] != " " and not _ends_word(text, end):
                    continue
                if exact is not None and not cased.startswith(exact, start):
                    continue
                if multiword and "\n" in text[start:end]:
                    continue
                hits.append(Hit(start, end, label, group))
        return resolve_overlaps(hits)


_ASCII_BOUNDARY = str.maketrans({chr(c): " " for c in range(128) if not chr(c).isalnum()})


def _boundary_table(text: str) -> dict[int, str]:
    extra = {ord(c): " " for c in set(text) if not c.isascii() and not c.isalnum()}
    return {**_ASCII_BOUNDARY, **extra} if extra else _ASCII_BOUNDARY


def compile_term(text: str, *, exact: bool = False, label: Hashable = None, group: Hashable = None) -> _Pattern:
    """One term as an automaton key plus an optional tail regex for its wildcards."""
    key, literal, tail = _shape(text)
    return _Pattern(
        key=key,
        literal=literal,
        tail=tail,
        exact=normalize_cased(text) if exact and tail is None else None,
        multiword=" " in literal,
        label=label,
        group=group,
    )


@lru_cache(maxsize=65536)
def _shape(text: str) -> tuple[str, str, re.Pattern[str] | None]:
    """(automaton key, literal prefix, wildcard tail regex) of a term; cached, as a watch list
    is validated and then compiled."""
    words = normalize_term(text).split(" ")
    if words[-1].endswith("'s") and "*" not in words[-1]:
        words[-1] = words[-1][:-2]
    if not words[0] or any(not w or ("*" in w[:-1]) for w in words):
        raise TermError(f"not a valid term: {text!r}")
    if words[0] == "*":
        raise TermError(f"a term cannot start with a wildcard: {text!r}")
    if not words[0][0].isalnum():
        raise TermError(f"a term must start with a letter or a digit: {text!r}")
    wild = next((i for i, w in enumerate(words) if w.endswith("*")), None)
    if wild is None:
        literal, tail = " ".join(words), None
    else:
        literal = " ".join([*words[:wild], words[wild][:-1]])
        rest = [re.escape(w[:-1]) + _CONTINUATION if w.endswith("*") else re.escape(w) for w in words[wild + 1 :]]
        tail = re.compile("".join([_CONTINUATION, *(" " + r for r in rest)]))
    return " " + literal.translate(_boundary_table(literal)) + ("" if tail else " "), literal, tail


def normalize_cased(text: str) -> str:
    cased = normalize(text.strip()).cased.strip()
    return cased[:-2] if cased.endswith("'s") else cased


def _starts_word(t: str, i: int) -> bool:
    if i == 0 or not t[i].isalnum():
        return True
    p = t[i - 1]
    if p.isalnum():
        return False
    if i >= 2 and p in "'.,":
        q = t[i - 2]
        if p == "'":
            return not (q.isalpha() and t[i].isalpha())
        if p == ".":
            return not q.isalnum()
        return not (q.isdigit() and t[i].isdigit())
    return True


def _ends_word(t: str, j: int, possessive: bool = True) -> bool:
    last, c = t[j - 1], t[j]
    if not last.isalnum():
        return not (last == "." and c.isalnum())
    if c.isalnum():
        return False
    if j + 1 < len(t) and c in "'.,":
        d = t[j + 1]
        if c == "'":
            if not (last.isalpha() and d.isalpha()):
                return True
            return possessive and d == "s" and (j + 2 == len(t) or _ends_word(t, j + 2, possessive=False))
        if c == ".":
            return not d.isalnum()
        return not (last.isdigit() and d.isdigit())
    return True


def resolve_overlaps(hits: list[Hit]) -> list[Hit]:
    """Within each group, keep the longest hits first, then the leftmost, with no overlap.

    Hits of one group on the same span with different labels (one alias shared by
    two actors) are all kept. Only runs of chained overlapping hits need the
    greedy choice; everything else is kept as it is."""
    by_group: dict[Hashable, list[Hit]] = {}
    for h in hits:
        by_group.setdefault(h.group, []).append(h)
    kept: list[Hit] = []
    for group_hits in by_group.values():
        group_hits.sort(key=lambda h: (h.start, h.end))
        cluster: list[Hit] = []
        reach = -1
        for h in group_hits:
            if h.start >= reach and cluster:
                kept.extend(_longest_first(cluster))
                cluster = []
            cluster.append(h)
            reach = max(reach, h.end)
        kept.extend(_longest_first(cluster))
    kept.sort(key=lambda h: (h.start, h.end))
    return kept


def _longest_first(cluster: list[Hit]) -> list[Hit]:
    if len(cluster) == 1:
        return cluster
    taken: list[tuple[int, int]] = []
    out: list[Hit] = []
    for h in sorted(cluster, key=lambda h: (h.start - h.end, h.start)):
        span = (h.start, h.end)
        if span in taken or not any(h.start < e and s < h.end for s, e in taken):
            if span not in taken:
                taken.append(span)
            out.append(h)
    return out
