"""Rule evaluation (spec §2): a query tree against the hits inside one unit.

``compile_watchlist`` turns a watch list into one ``Matcher`` over every alias,
lexicon term and query term, plus each rule's tree with its references
resolved. ``evaluate`` answers, for one unit (a sentence, a paragraph or the
article), whether the query holds and which hits satisfied it.

Groups of hits: ``"actors"`` (aliases, overlaps resolved across all actors),
``("lexicon", NAME)`` and ``("term", TEXT)``. An actor hit's label is the actor id.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from extractors import query as q
from extractors.matcher import WORD, Hit, Matcher

ACTORS = "actors"


@dataclass(frozen=True)
class CompiledRule:
    id: str
    title: str
    severity: str
    scope: str
    tree: q.Node
    matches_empty: bool  # the query holds in a unit with no hits at all (e.g. ``NOT x``)


@dataclass(frozen=True)
class ActorInfo:
    id: str
    name: str
    kind: str


class CompiledWatchlist:
    """Everything ``scan_article`` needs, compiled once per watch list. Picklable."""

    def __init__(self, watchlist: Any) -> None:
        self.actors = {a.id: ActorInfo(a.id, a.name, a.kind) for a in watchlist.actors}
        members = _member_closure(watchlist.actors)
        terms: list[tuple[str, bool, Any, Any]] = []
        for a in watchlist.actors:
            terms += [(alias, False, a.id, ACTORS) for alias in (a.name, *a.aliases)]
            terms += [(alias, True, a.id, ACTORS) for alias in a.exact]
        for name, entries in watchlist.lexicons.items():
            terms += [(t, False, name, ("lexicon", name)) for t in entries]
        self.rules: list[CompiledRule] = []
        self._selectors: dict[q.Ref, frozenset[str]] = {}
        for rule in watchlist.rules:
            tree = q.parse(rule.query)
            for node in q.walk(tree):
                if isinstance(node, q.Term):
                    terms.append((node.text, False, node.text, ("term", node.text)))
                elif isinstance(node, q.Ref) and node.field in ("actor", "kind"):
                    self._selectors[node] = frozenset(
                        members[node.name]
                        if node.field == "actor"
                        else (a.id for a in watchlist.actors if a.kind == node.name)
                    )
            matches_empty = _evaluate(tree, lambda _leaf: [], lambda _a, _b: 0)[0]
            self.rules.append(
                CompiledRule(rule.id, rule.title, rule.severity, rule.scope or "sentence", tree, matches_empty)
            )
        self.matcher = Matcher(terms)

    def leaf_hits(self, leaf: q.Term | q.Ref, hits: Sequence[Hit]) -> list[Hit]:
        if isinstance(leaf, q.Term):
            group: Any = ("term", leaf.text)
        elif leaf.field == "lexicon":
            group = ("lexicon", leaf.name)
        else:
            ids = self._selectors[leaf]
            return [h for h in hits if h.group == ACTORS and h.label in ids]
        return [h for h in hits if h.group == group]


def compile_watchlist(watchlist: Any) -> CompiledWatchlist:
    return CompiledWatchlist(watchlist)


@dataclass(frozen=True)
class Occurrence:
    start: int
    end: int
    hits: tuple[Hit, ...]


def evaluate(
    compiled: CompiledWatchlist, rule: CompiledRule, hits: Sequence[Hit], text: str
) -> tuple[bool, list[Hit]]:
    """Whether ``rule`` holds for a unit whose hits are ``hits``; and the hits that satisfied it.

    ``text`` is the normalized ``lower`` text the hit offsets index (used to count
    words for ``NEAR``)."""
    word_starts: list[int] | None = None

    def distance(a: Occurrence, b: Occurrence) -> int:
        nonlocal word_starts
        if a.start > b.start:
            a, b = b, a
        if b.start < a.end:
            return 0
        if word_starts is None:
            lo = min(h.start for h in hits)
            word_starts = [m.start() for m in WORD.finditer(text, lo, max(h.end for h in hits))]
        last_of_a = bisect_left(word_starts, a.end) - 1
        first_of_b = bisect_left(word_starts, b.start)
        return first_of_b - last_of_a - 1

    def leaf(node: q.Term | q.Ref) -> list[Occurrence]:
        return [Occurrence(h.start, h.end, (h,)) for h in compiled.leaf_hits(node, hits)]

    ok, occurrences = _evaluate(rule.tree, leaf, distance)
    if not ok:
        return False, []
    seen = {h for o in occurrences for h in o.hits}
    return True, sorted(seen, key=lambda h: (h.start, h.end))


def _evaluate(
    node: q.Node,
    leaf: Callable[[Any], list[Occurrence]],
    distance: Callable[[Occurrence, Occurrence], int],
) -> tuple[bool, list[Occurrence]]:
    if isinstance(node, (q.Term, q.Ref)):
        found = leaf(node)
        return bool(found), found
    if isinstance(node, q.Not):
        return not _evaluate(node.operand, leaf, distance)[0], []
    if isinstance(node, q.And):
        parts = [_evaluate(n, leaf, distance) for n in node.operands]
        if all(ok for ok, _ in parts):
            return True, [o for _, occ in parts for o in occ]
        return False, []
    if isinstance(node, q.Or):
        parts = [_evaluate(n, leaf, distance) for n in node.operands]
        return any(ok for ok, _ in parts), [o for ok, occ in parts if ok for o in occ]
    if isinstance(node, q.Near):
        _, left = _evaluate(node.left, leaf, distance)
        _, right = _evaluate(node.right, leaf, distance)
        pairs = [
            Occurrence(min(a.start, b.start), max(a.end, b.end), a.hits + b.hits)
            for a in left
            for b in right
            if (a.start, a.end) != (b.start, b.end) and distance(a, b) <= node.distance
        ]
        return bool(pairs), pairs
    raise TypeError(f"not a query node: {node!r}")


def _member_closure(actors: Sequence[Any]) -> dict[str, set[str]]:
    """actor id -> itself and every actor that is ``member_of`` it, transitively."""
    parents = {a.id: set(a.member_of or ()) for a in actors}
    closure: dict[str, set[str]] = {a.id: {a.id} for a in actors}
    for actor_id in parents:
        stack, seen = list(parents[actor_id]), set()
        while stack:
            p = stack.pop()
            if p in seen or p not in closure:
                continue
            seen.add(p)
            closure[p].add(actor_id)
            stack.extend(parents[p])
    return closure
