"""Rule evaluation (spec §2): a query tree against the hits inside one unit.

``compile_watchlist`` turns a watch list into one ``Matcher`` over every alias,
lexicon term and query term, plus each rule's tree. A rule numbers its leaves
(terms and references); each hit is mapped, once per (group, label), to the set
of leaves it satisfies in each rule. A unit is evaluated only if its hits meet
the query's ``needs`` (for ``a NEAR (b OR c) AND NOT d``: a leaf of {a}, and one
of {b, c}), so most units of most articles cost a few set operations.

Groups of hits: ``"actors"`` (aliases, overlaps resolved across all actors),
``("lexicon", NAME)`` and ``("term", TEXT)``. An actor hit's label is the actor id.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from extractors import query as q
from extractors.matcher import WORD, Hit, Matcher

ACTORS = "actors"
Leaf = q.Term | q.Ref


@dataclass(frozen=True)
class CompiledRule:
    id: str
    title: str
    severity: str
    scope: str
    tree: q.Node
    leaves: dict[Leaf, int]
    needs: tuple[frozenset[int], ...]  # a satisfying unit holds a leaf of each of these sets
    matches_empty: bool  # the query holds in a unit with no hits at all (e.g. ``NOT x``)


@dataclass(frozen=True)
class ActorInfo:
    id: str
    name: str
    kind: str


@dataclass
class CompiledWatchlist:
    """Everything ``scan_article`` needs, compiled once per watch list. Picklable."""

    actors: dict[str, ActorInfo]
    rules: list[CompiledRule]
    matcher: Matcher
    selectors: dict[q.Ref, frozenset[str]]  # actor:/kind: reference -> actor ids
    _leaf_sets: dict[tuple[Any, Any], tuple[frozenset[int], ...]] = field(default_factory=dict, repr=False)

    def leaf_sets(self, hit: Hit) -> tuple[frozenset[int], ...]:
        """For each rule, the leaves that ``hit`` satisfies (cached by group and label)."""
        key = (hit.group, hit.label)
        found = self._leaf_sets.get(key)
        if found is None:
            found = tuple(frozenset(i for leaf, i in rule.leaves.items() if self._satisfies(leaf, hit)) for rule in self.rules)
            self._leaf_sets[key] = found
        return found

    def _satisfies(self, leaf: Leaf, hit: Hit) -> bool:
        if isinstance(leaf, q.Term):
            return hit.group == ("term", leaf.text)
        if leaf.field == "lexicon":
            return hit.group == ("lexicon", leaf.name)
        return hit.group == ACTORS and hit.label in self.selectors[leaf]


def compile_watchlist(watchlist: Any) -> CompiledWatchlist:
    members = _member_closure(watchlist.actors)
    terms: list[tuple[str, bool, Any, Any]] = []
    for a in watchlist.actors:
        terms += [(alias, False, a.id, ACTORS) for alias in (a.name, *a.aliases)]
        terms += [(alias, True, a.id, ACTORS) for alias in a.exact]
    for name, entries in watchlist.lexicons.items():
        terms += [(t, False, name, ("lexicon", name)) for t in entries]
    rules: list[CompiledRule] = []
    selectors: dict[q.Ref, frozenset[str]] = {}
    for rule in watchlist.rules:
        tree = q.parse(rule.query)
        leaves: dict[Leaf, int] = {}
        for node in q.walk(tree):
            if isinstance(node, q.Term):
                terms.append((node.text, False, node.text, ("term", node.text)))
            elif isinstance(node, q.Ref) and node.field in ("actor", "kind"):
                selectors[node] = frozenset(
                    members[node.name] if node.field == "actor" else (a.id for a in watchlist.actors if a.kind == node.name)
                )
            if isinstance(node, (q.Term, q.Ref)):
                leaves.setdefault(node, len(leaves))
        matches_empty = _evaluate(tree, lambda _leaf: [], lambda _a, _b: 0)[0]
        rules.append(
            CompiledRule(
                rule.id, rule.title, rule.severity, rule.scope or "sentence", tree,
                leaves, _needs(tree, leaves), matches_empty,
            )
        )
    actors = {a.id: ActorInfo(a.id, a.name, a.kind) for a in watchlist.actors}
    return CompiledWatchlist(actors, rules, Matcher(terms), selectors)


class Occurrence(NamedTuple):
    """Where a query node holds in a unit, and the hits that make it hold."""

    start: int
    end: int
    hits: tuple[Hit, ...]


def evaluate(rule: CompiledRule, hits: Sequence[tuple[Hit, frozenset[int]]], text: str) -> tuple[bool, list[Hit]]:
    """Whether ``rule`` holds for a unit whose hits (with their leaf sets) are ``hits``; and
    the hits that satisfied it. ``text`` is the normalized ``lower`` text the hit offsets
    index (``NEAR`` counts its words)."""
    word_starts: list[int] | None = None

    def distance(a: Occurrence, b: Occurrence) -> int:
        nonlocal word_starts
        if a.start > b.start:
            a, b = b, a
        if b.start < a.end:
            return 0
        if word_starts is None:
            lo = min(h.start for h, _ in hits)
            word_starts = [m.start() for m in WORD.finditer(text, lo, max(h.end for h, _ in hits))]
        last_of_a = bisect_left(word_starts, a.end) - 1
        first_of_b = bisect_left(word_starts, b.start)
        return first_of_b - last_of_a - 1

    def leaf(node: Leaf) -> list[Occurrence]:
        i = rule.leaves[node]
        return [Occurrence(h.start, h.end, (h,)) for h, leaves in hits if i in leaves]

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


def _needs(node: q.Node, leaves: dict[Leaf, int]) -> tuple[frozenset[int], ...]:
    """Sets of leaves such that every unit satisfying ``node`` holds a leaf of each set."""
    if isinstance(node, (q.Term, q.Ref)):
        return (frozenset([leaves[node]]),)
    if isinstance(node, q.And):
        return tuple(need for n in node.operands for need in _needs(n, leaves))
    if isinstance(node, q.Near):
        return _needs(node.left, leaves) + _needs(node.right, leaves)
    if isinstance(node, q.Or):
        # Each operand needs a leaf of its first set, so the whole needs a leaf of their union.
        firsts = [_needs(n, leaves)[:1] for n in node.operands]
        return (frozenset().union(*(f[0] for f in firsts)),) if all(firsts) else ()
    return ()


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
