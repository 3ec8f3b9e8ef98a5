"""One article in, the spec §4 result out: actors mentioned and rules fired, with evidence."""

from __future__ import annotations

from bisect import bisect_left
from datetime import datetime

from pydantic import BaseModel

from extractors.article import Article
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
    actors: list[ActorMention]
    alerts: list[AlertResult]


def scan_article(article: Article, compiled: CompiledWatchlist) -> ScanResult:
    norm = normalize(article.text)
    hits = compiled.matcher.find(norm)
    counts: dict[str, int] = {}
    for h in hits:
        if h.group == ACTORS:
            counts[h.label] = counts.get(h.label, 0) + 1  # type: ignore[index]
    units = _Units(norm, hits)
    alerts = [a for rule in compiled.rules if (a := _fire(rule, compiled, units)) is not None]
    return ScanResult(
        id=article.id,
        path=article.path,
        title=article.title,
        source=article.source,
        published=article.published,
        actors=[
            ActorMention(id=i, name=compiled.actors[i].name, kind=compiled.actors[i].kind, count=c)
            for i, c in counts.items()
        ],
        alerts=alerts,
    )


def _fire(rule: CompiledRule, compiled: CompiledWatchlist, units: "_Units") -> AlertResult | None:
    evidence: list[Evidence] = []
    actors: dict[str, None] = {}
    for start, end in units.spans(rule.scope, every=rule.matches_empty):
        unit_hits = units.hits_in(start, end)
        ok, used = evaluate(compiled, rule, unit_hits, units.norm.lower)
        if not ok:
            continue
        evidence.append(units.evidence(start, end, used))
        actors.update((str(h.label), None) for h in used if h.group == ACTORS)
    if not evidence:
        return None
    return AlertResult(rule=rule.id, title=rule.title, severity=rule.severity, actors=list(actors), evidence=evidence)


class _Units:
    """The sentences, paragraphs and whole text of one article, in normalized offsets.

    Sentences are segmented only in paragraphs that hold a hit, unless a rule can
    hold with no hit at all."""

    def __init__(self, norm: Normalized, hits: list[Hit]) -> None:
        self.norm = norm
        self.hits = hits
        self._starts = [h.start for h in hits]
        text = norm.cased
        self.paragraphs: list[tuple[int, int]] = []
        pos = 0
        while (nl := text.find("\n", pos)) != -1:
            self.paragraphs.append((pos, nl))
            pos = nl + 1
        self.paragraphs.append((pos, len(text)))
        self._sentences: dict[tuple[int, int], list[tuple[int, int]]] = {}

    def hits_in(self, start: int, end: int) -> list[Hit]:
        i = bisect_left(self._starts, start)
        out = []
        while i < len(self.hits) and self.hits[i].start < end:
            if self.hits[i].end <= end:
                out.append(self.hits[i])
            i += 1
        return out

    def spans(self, scope: str, *, every: bool) -> list[tuple[int, int]]:
        if scope == "article":
            return [(0, len(self.norm.cased))] if every or self.hits else []
        paragraphs = [p for p in self.paragraphs if every or self.hits_in(*p)]
        if scope == "paragraph":
            return paragraphs
        out: list[tuple[int, int]] = []
        for p in paragraphs:
            if p not in self._sentences:
                title = p == self.paragraphs[0]
                self._sentences[p] = [p] if title else sentence_spans(self.norm.cased, *p)
            out += [s for s in self._sentences[p] if every or self.hits_in(*s)]
        return out

    def evidence(self, start: int, end: int, used: list[Hit]) -> Evidence:
        original, at = self.norm.original, self.norm.to_original
        s, e = at(start), at(end)
        terms = [EvidenceTerm(text=original[at(h.start) : at(h.end)], start=at(h.start), end=at(h.end)) for h in used]
        return Evidence(text=original[s:e], start=s, end=e, terms=terms)
