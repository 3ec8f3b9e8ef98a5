"""One article in, the spec §4 result out: actors mentioned and rules fired, with evidence."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import datetime
from operator import itemgetter
from typing import Any

from pydantic import BaseModel

from extractors.article import Article
from extractors.context import read_context
from extractors.matcher import Hit
from extractors.normalize import Normalized, normalize
from extractors.rules import ACTORS, CompiledRule, CompiledWatchlist, evaluate
from extractors.segment import sentence_spans


class EvidenceTerm(BaseModel):
    text: str
    start: int
    end: int


class Evidence(BaseModel):
    text: str
    start: int
    end: int
    terms: list[EvidenceTerm]


class AlertResult(BaseModel):
    rule: str
    title: str
    severity: str
    actors: list[str]
    evidence: list[Evidence]


class ActorMention(BaseModel):
    id: str
    name: str
    kind: str
    count: int


class ScanResult(BaseModel):
    """The spec §4 object; ``model_dump(mode="json")`` is what ``tocsin scan`` prints."""

    id: str
    path: str | None
    title: str
    source: str | None
    published: datetime | None
    language: str = "und"  # ar | en | und, detected (docs/arabic.md)
    actors: list[ActorMention]
    alerts: list[AlertResult]


def scan_article(article: Article, compiled: CompiledWatchlist) -> ScanResult:
    """The result is built as plain data and validated once, in pydantic's core: one call
    rather than one Python-level constructor per actor, alert, evidence and term."""
    norm, hits = article_hits(article, compiled)
    counts: dict[str, int] = {}
    for h in hits:
        if h.group == ACTORS:
            counts[h.label] = counts.get(h.label, 0) + 1  # type: ignore[index]
    units = _Units(norm)
    leaf_sets = list(map(compiled.leaf_sets, hits))
    language = article.detected_language
    alerts = [
        a for i, rule in enumerate(compiled.rules)
        if (rule.lang is None or language in rule.lang) and (a := _fire(i, rule, hits, leaf_sets, units)) is not None
    ]
    return ScanResult.model_validate({
        "id": article.id,
        "path": article.path,
        "title": article.title,
        "source": article.source,
        "published": article.published,
        "language": language,
        "actors": [
            {"id": i, "name": compiled.actors[i].name, "kind": compiled.actors[i].kind, "count": c}
            for i, c in counts.items()
        ],
        "alerts": alerts,
    })


def article_hits(article: Article, compiled: CompiledWatchlist) -> tuple[Normalized, list[Hit]]:
    """The article's normalized text and every hit of the watch list's terms in it."""
    norm = normalize(article.text)
    hits = compiled.matcher.find(norm)
    if compiled.short_forms or compiled.acronyms:
        hits = read_context(hits, norm, acronyms=compiled.acronyms)
    return norm, hits


def _fire(
    index: int, rule: CompiledRule, hits: list[Hit], leaf_sets: list[tuple[frozenset[int], ...]], units: "_Units"
) -> dict[str, Any] | None:
    """The rule's alert as ``AlertResult`` data, or None. ``leaf_sets[k][index]`` holds the rule's
    leaves that ``hits[k]`` satisfies."""
    relevant = [(h, leaves[index]) for h, leaves in zip(hits, leaf_sets) if leaves[index]]
    if rule.matches_empty:
        spans = units.all(rule.scope)
    else:
        if not _meets(rule, relevant):
            return None  # no unit of the article can hold what the query needs
        spans = units.holding(rule.scope, _anchors(rule, relevant))
    starts = [h.start for h, _ in relevant]
    evidence: list[dict[str, Any]] = []
    actors: dict[str, None] = {}
    for start, end in spans:
        lo = bisect_left(starts, start)
        inside = [r for r in relevant[lo : bisect_left(starts, end, lo)] if r[0].end <= end]
        if rule.unless is not None:
            sentences = [(start, end)] if rule.scope == "sentence" else units.sentences_between(start, end)
            inside = _outside_unless(rule, inside, sentences, units)
        if not _meets(rule, inside):
            continue
        ok, used = evaluate(rule, inside, units.norm.lower)
        if not ok:
            continue
        evidence.append(units.evidence(start, end, used))
        actors.update((str(h.label), None) for h in used if h.group == ACTORS)
    if not evidence:
        return None
    return {"rule": rule.id, "title": rule.title, "severity": rule.severity, "actors": list(actors), "evidence": evidence}


_LEAVES = itemgetter(1)


def _outside_unless(
    rule: CompiledRule, hits: list[tuple[Hit, frozenset[int]]], sentences: list[tuple[int, int]], units: "_Units"
) -> list[tuple[Hit, frozenset[int]]]:
    """The hits that lie in no sentence where the rule's ``unless`` query holds."""

    def within(hit: Hit, span: tuple[int, int]) -> bool:
        return span[0] <= hit.start and hit.end <= span[1]

    silenced = [
        span for span in sentences
        if (inside := [r for r in hits if within(r[0], span)]) and evaluate(rule, inside, units.norm.lower, rule.unless)[0]
    ]
    return [r for r in hits if not any(within(r[0], span) for span in silenced)]


def _meets(rule: CompiledRule, hits: list[tuple[Hit, frozenset[int]]]) -> bool:
    """Whether ``hits`` (with their leaf sets) hold a leaf of each set the rule needs."""
    present = frozenset().union(*map(_LEAVES, hits))
    return not any(map(present.isdisjoint, rule.needs))


def _anchors(rule: CompiledRule, relevant: list[tuple[Hit, frozenset[int]]]) -> list[int]:
    """Where a matching unit may be: the starts of the hits of the needed set with the fewest
    hits (every matching unit holds one), or of every hit if the query needs none."""
    if not rule.needs:
        return [h.start for h, _ in relevant]
    hit_leaves = list(map(_LEAVES, relevant))
    rarest = max(rule.needs, key=lambda need: sum(map(need.isdisjoint, hit_leaves))) if len(rule.needs) > 1 else rule.needs[0]
    return [h.start for h, leaves in relevant if not rarest.isdisjoint(leaves)]


class _Units:
    """The sentences, paragraphs and whole text of one article, in normalized offsets.

    A paragraph is segmented into sentences only when a rule needs it."""

    def __init__(self, norm: Normalized) -> None:
        self.norm = norm
        text = norm.cased
        self.paragraphs: list[tuple[int, int]] = []
        pos = 0
        while (nl := text.find("\n", pos)) != -1:
            self.paragraphs.append((pos, nl))
            pos = nl + 1
        self.paragraphs.append((pos, len(text)))
        self._paragraph_starts = [p[0] for p in self.paragraphs]
        self._sentences: dict[int, tuple[list[tuple[int, int]], list[int]]] = {}

    def sentences(self, paragraph: int) -> list[tuple[int, int]]:
        return self._segmented(paragraph)[0]

    def _segmented(self, paragraph: int) -> tuple[list[tuple[int, int]], list[int]]:
        """The sentences of a paragraph (the title is one), and their starts."""
        if paragraph not in self._sentences:
            p = self.paragraphs[paragraph]
            spans = [p] if paragraph == 0 else sentence_spans(self.norm.cased, *p)
            self._sentences[paragraph] = (spans, [s for s, _ in spans])
        return self._sentences[paragraph]

    def sentences_between(self, start: int, end: int) -> list[tuple[int, int]]:
        """The sentences of the paragraphs from the one at ``start`` to the one at ``end``."""
        first = bisect_right(self._paragraph_starts, start) - 1
        last = bisect_right(self._paragraph_starts, end) - 1
        return [s for p in range(first, last + 1) for s in self.sentences(p)]

    def all(self, scope: str) -> list[tuple[int, int]]:
        if scope == "article":
            return [(0, len(self.norm.cased))]
        if scope == "paragraph":
            return self.paragraphs
        return [s for i in range(len(self.paragraphs)) for s in self.sentences(i)]

    def holding(self, scope: str, positions: list[int]) -> list[tuple[int, int]]:
        """The units that hold any of ``positions`` (sorted), in order, each once."""
        if scope == "article":
            return [(0, len(self.norm.cased))]
        out: list[tuple[int, int]] = []
        for pos in positions:
            p = bisect_right(self._paragraph_starts, pos) - 1
            if scope == "paragraph":
                unit = self.paragraphs[p]
            else:
                sentences, starts = self._segmented(p)
                k = bisect_right(starts, pos) - 1
                if k < 0 or pos >= sentences[k][1]:
                    continue
                unit = sentences[k]
            if not out or out[-1] != unit:
                out.append(unit)
        return out

    def evidence(self, start: int, end: int, used: list[Hit]) -> dict[str, Any]:
        """``Evidence`` data for the unit ``start:end`` and the hits that made the rule hold."""
        original, at = self.norm.original, self.norm.to_original
        s, e = at(start), at(end)
        terms = [{"text": original[a : b], "start": a, "end": b} for h in used for a, b in [(at(h.start), at(h.end))]]
        return {"text": original[s:e], "start": s, "end": e, "terms": terms}
