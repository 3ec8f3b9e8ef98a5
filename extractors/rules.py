"""Rule evaluation (spec §2): a query tree against the hits inside one unit.

``compile_watchlist`` turns a watch list into one ``Matcher`` over every alias,
lexicon term and query term, plus each rule's tree. A rule numbers its leaves
(terms and references); each hit is mapped, once per (group, label), to the set
of leaves it satisfies in each rule. A unit is evaluated only if its hits meet
the query's ``needs`` (for ``a NEAR (b OR c) AND NOT d``: a leaf of {a}, and one
of {b, c}), so most units of most articles cost a few set operations.

Groups of hits: ``"actors"`` (aliases, overlaps resolved across all actors),
``("lexicon", NAME)`` and ``("term", TEXT)``. An actor hit's label is the actor id, or
``ShortForm(id)`` for a short form until ``context.read_context`` keeps or drops it.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, NamedTuple

from extractors import query as q
from extractors.matcher import WORD, Hit, Matcher

ACTORS = "actors"
Leaf = q.Term | q.Ref


class ShortForm(NamedTuple):
    """The label of a hit on an actor's ``short`` alias (docs/rule-language.md)."""

    actor: str


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
    unless: q.Node | None = None  # no sentence where it holds counts (docs/rule-language.md)
    lang: frozenset[str] | None = None  # the article languages the rule applies to; None = all


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
    short_forms: bool = False  # some actor has ``short`` aliases
    acronyms: bool = False  # ``matching.acronyms``: "Full Name (ACR)" defines an alias
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
        terms += [(alias, False, ShortForm(a.id), ACTORS) for alias in getattr(a, "short", ())]
    for name, entries in watchlist.lexicons.items():
        terms += [(t, False, name, ("lexicon", name)) for t in entries]
    rules: list[CompiledRule] = []
    selectors: dict[q.Ref, frozenset[str]] = {}
    for rule in watchlist.rules:
        tree = q.parse(rule.query)
        unless = q.parse(rule.unless) if getattr(rule, "unless", None) else None
        leaves: dict[Leaf, int] = {}  # the unless-query's leaves too: its hits reach the units
        for node in [*q.walk(tree), *(q.walk(unless) if unless else ())]:
            if isinstance(node, q.Term):
                terms.append((node.text, False, node.text, ("term", node.text)))
            elif isinstance(node, q.Ref) and node.field in ("actor", "kind"):
                selectors[node] = frozenset(
                    members[node.name] if node.field == "actor" else (a.id for a in watchlist.actors if a.kind == node.name)
                )
            if isinstance(node, (q.Term, q.Ref)):
                leaves.setdefault(node, len(leaves))
        matches_empty = _evaluate(tree, lambda _leaf: [], lambda _left, _right, _node: [])[0]
        rules.append(
            CompiledRule(
                rule.id, rule.title, rule.severity, rule.scope or "sentence", tree,
                leaves, _needs(tree, leaves), matches_empty, unless, frozenset(rule.lang) if rule.lang else None,
            )
        )
    actors = {a.id: ActorInfo(a.id, a.name, a.kind) for a in watchlist.actors}
    matching = getattr(watchlist, "matching", None)
    return CompiledWatchlist(
        actors, rules, Matcher(terms), selectors,
        short_forms=any(getattr(a, "short", ()) for a in watchlist.actors),
        acronyms=bool(matching and matching.acronyms),
    )


class Occurrence(NamedTuple):
    """Where a query node holds in a unit, and the hits that make it hold."""

    start: int
    end: int
    hits: tuple[Hit, ...]


def evaluate(
    rule: CompiledRule, hits: Sequence[tuple[Hit, frozenset[int]]], text: str, tree: q.Node | None = None
) -> tuple[bool, list[Hit]]:
    """Whether ``rule``'s query (or ``tree``, one over the same leaves: its ``unless``) holds for
    a unit whose hits (with their leaf sets) are ``hits``; and the hits that satisfied it.
    ``text`` is the normalized ``lower`` text the hit offsets index (``NEAR`` counts its words)."""
    word_starts: list[int] = []

    def words(o: Occurrence) -> tuple[int, int]:
        """The indexes of the first and the last word of ``o``."""
        if not word_starts:
            lo, hi = min(h.start for h, _ in hits), max(h.end for h, _ in hits)
            word_starts.extend(m.start() for m in WORD.finditer(text, lo, hi))
        return bisect_left(word_starts, o.start), bisect_left(word_starts, o.end) - 1

    def leaf(node: Leaf) -> list[Occurrence]:
        i = rule.leaves[node]
        return [Occurrence(h.start, h.end, (h,)) for h, leaves in hits if i in leaves]

    ok, occurrences = _evaluate(
        rule.tree if tree is None else tree, leaf, lambda left, right, node: near_pairs(left, right, node.distance, words, ordered=node.ordered)
    )
    if not ok:
        return False, []
    seen = {h for o in occurrences for h in o.hits}
    return True, sorted(seen, key=_SPAN)


_SPAN = itemgetter(0, 1)


def near_pairs(
    left: list[Occurrence],
    right: list[Occurrence],
    n: int,
    words: Callable[[Occurrence], tuple[int, int]],
    *,
    ordered: bool = False,
) -> list[Occurrence]:
    """Every pair (one of ``left``, one of ``right``, not on the same span) at most ``n`` words
    apart, as one occurrence; ``words`` gives an occurrence's first and last word index.
    Overlapping occurrences are 0 words apart. With ``ordered`` (``BEFORE/n``) the right one
    must start after the left one ends. Each left one is compared only with the right
    ones whose first word could be close enough, so a long unit full of hits costs no
    quadratic time."""
    if not left or not right:
        return []
    right = sorted(right, key=_SPAN)
    bounds = [words(b) for b in right]
    firsts = [first for first, _ in bounds]
    longest = max([0] + [last - first for first, last in bounds])
    pairs = []
    for a in left:
        first_a, last_a = words(a)
        for j in range(bisect_left(firsts, first_a - n - 1 - longest), bisect_right(firsts, last_a + n + 1)):
            b = right[j]
            if (a.start, a.end) == (b.start, b.end) or (ordered and b.start < a.end):
                continue
            if a.start <= b.start:
                apart = 0 if b.start < a.end else firsts[j] - last_a - 1
            else:
                apart = 0 if a.start < b.end else first_a - bounds[j][1] - 1
            if apart <= n:
                pairs.append(Occurrence(min(a.start, b.start), max(a.end, b.end), a.hits + b.hits))
    return pairs


def _evaluate(
    node: q.Node,
    leaf: Callable[[Any], list[Occurrence]],
    near: Callable[[list[Occurrence], list[Occurrence], q.Near], list[Occurrence]],
) -> tuple[bool, list[Occurrence]]:
    if isinstance(node, (q.Term, q.Ref)):
        found = leaf(node)
        return bool(found), found
    if isinstance(node, q.Not):
        return not _evaluate(node.operand, leaf, near)[0], []
    if isinstance(node, q.And):
        parts = [_evaluate(n, leaf, near) for n in node.operands]
        if all(ok for ok, _ in parts):
            return True, [o for _, occ in parts for o in occ]
        return False, []
    if isinstance(node, q.Or):
        parts = [_evaluate(n, leaf, near) for n in node.operands]
        return any(ok for ok, _ in parts), [o for ok, occ in parts if ok for o in occ]
    if isinstance(node, q.Near):
        pairs = near(_evaluate(node.left, leaf, near)[1], _evaluate(node.right, leaf, near)[1], node)
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
