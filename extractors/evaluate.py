"""Scoring a watch list against an analyst's labels (``tocsin eval``). Pure: articles, their
scan results and the labels in, a ``Report`` out.

An article is *paged* when any of its alerts is ``high`` or ``critical`` (``PAGING``). Paging is
scored as a binary decision against ``Label.analyst_alert``: precision, recall and F1 overall,
per rule (a rule "pages" an article when it fires on it at a paging severity) and per severity.
Every false page is listed with the sentence that fired; every miss with the sentence of the
article that came closest to a paging rule and the parts of that rule it lacked.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from extractors import query as q
from extractors.article import Article
from extractors.matcher import Hit
from extractors.rules import CompiledRule, CompiledWatchlist, evaluate
from extractors.scan import ScanResult, _outside_unless, _Units, article_hits
from extractors.watchlist import SEVERITIES

PAGING = ("high", "critical")


class Label(BaseModel):
    """One line of a labels file (the format of ``analyst-dev/labels.jsonl``); other keys are kept out."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1)
    analyst_alert: bool
    why: str = ""
    category: str | None = None


def read_labels(path: str | Path) -> list[Label]:
    """The labels in a JSON-lines file; raises ``ValueError`` with ``FILE:LINE: reason`` for the
    first bad line, a repeated id, or an empty file."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot read labels: {getattr(exc, 'strerror', None) or exc}") from None
    labels: dict[str, Label] = {}
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            label = Label.model_validate(json.loads(line))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{n}: not JSON: {exc.msg}") from None
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(map(str, err["loc"])) or "line"
            raise ValueError(f"{path}:{n}: {where}: {err['msg']}") from None
        if label.id in labels:
            raise ValueError(f"{path}:{n}: id {label.id!r} is labelled twice")
        labels[label.id] = label
    if not labels:
        raise ValueError(f"{path}: no labels")
    return list(labels.values())


@dataclasses.dataclass(frozen=True)
class Case:
    """One labelled article and what the watch list made of it."""

    label: Label
    article: Article
    result: ScanResult


class Score(BaseModel):
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def add(self, predicted: bool, actual: bool) -> None:
        if predicted:
            self.tp, self.fp = self.tp + actual, self.fp + (not actual)
        else:
            self.fn, self.tn = self.fn + actual, self.tn + (not actual)

    def figures(self) -> dict[str, float | int]:
        return {**self.model_dump(), "precision": round(self.precision, 4), "recall": round(self.recall, 4), "f1": round(self.f1, 4)}


class RuleRow(BaseModel):
    rule: str
    severity: str
    pages: bool  # the rule's severity pages
    fired: int  # articles it fired on
    score: Score  # its firing scored as a paging decision
    only: int  # should-page articles that no other paging rule paged: misses if it were dropped


class Finding(BaseModel):
    """A false page (``rules`` that paged, ``sentence`` the first that fired) or a miss
    (``rules`` the closest paging rule, ``sentence`` its closest unit, ``missing`` its parts
    that unit lacks)."""

    id: str
    headline: str
    why: str
    category: str | None
    rules: list[str]
    sentence: str
    missing: list[str] = Field(default_factory=list)


class Report(BaseModel):
    articles: int
    should_page: int
    paged: int
    overall: Score
    rules: list[RuleRow]
    severities: dict[str, Score]
    false_pages: list[Finding]
    misses: list[Finding]

    def to_json(self) -> dict:
        """Figures rounded, each score with its precision, recall and F1."""
        return {
            "articles": self.articles,
            "should_page": self.should_page,
            "paged": self.paged,
            "overall": self.overall.figures(),
            "rules": [{"rule": r.rule, "severity": r.severity, "pages": r.pages, "fired": r.fired, "only": r.only,
                       **r.score.figures()} for r in self.rules],
            "severities": {s: score.figures() for s, score in self.severities.items()},
            "false_pages": [f.model_dump() for f in self.false_pages],
            "misses": [f.model_dump() for f in self.misses],
        }


def paging_rules(result: ScanResult) -> list[str]:
    return [a.rule for a in result.alerts if a.severity in PAGING]


def score(cases: Sequence[Case], compiled: CompiledWatchlist) -> Report:
    overall = Score()
    by_rule = {r.id: Score() for r in compiled.rules}
    fired = dict.fromkeys(by_rule, 0)
    only = dict.fromkeys(by_rule, 0)
    severities = {s: Score() for s in SEVERITIES}
    false_pages: list[Finding] = []
    misses: list[Finding] = []
    for case in cases:
        actual = case.label.analyst_alert
        pagers = paging_rules(case.result)
        overall.add(bool(pagers), actual)
        fired_rules = {a.rule for a in case.result.alerts}
        for rule_id, s in by_rule.items():
            s.add(rule_id in fired_rules, actual)
            fired[rule_id] += rule_id in fired_rules
        if actual and len(pagers) == 1:
            only[pagers[0]] += 1
        present = {a.severity for a in case.result.alerts}
        for sev, s in severities.items():
            s.add(sev in present, actual)
        if pagers and not actual:
            first = next(a for a in case.result.alerts if a.severity in PAGING)
            false_pages.append(_finding(case, pagers, first.evidence[0].text))
        elif actual and not pagers:
            rule, sentence, missing = closest(case.article, compiled)
            misses.append(_finding(case, [rule] if rule else [], sentence, missing))
    rows = [RuleRow(rule=r.id, severity=r.severity, pages=r.severity in PAGING, fired=fired[r.id], score=by_rule[r.id],
                    only=only[r.id]) for r in compiled.rules]
    return Report(
        articles=len(cases), should_page=sum(c.label.analyst_alert for c in cases),
        paged=overall.tp + overall.fp, overall=overall, rules=rows,
        severities={s: v for s, v in severities.items() if v.tp + v.fp}, false_pages=false_pages, misses=misses,
    )


def _finding(case: Case, rules: list[str], sentence: str, missing: Iterable[str] = ()) -> Finding:
    return Finding(id=case.label.id, headline=case.article.headline, why=case.label.why, category=case.label.category,
                   rules=rules, sentence=" ".join(sentence.split()), missing=list(missing))


# --- Why a paging rule did not fire ---------------------------------------------------------

def closest(article: Article, compiled: CompiledWatchlist) -> tuple[str | None, str, list[str]]:
    """The paging rule that came closest to firing on ``article``: its id, the unit (sentence,
    paragraph or article, by its scope) that held most of its top-level parts, and the parts that
    unit lacked, each as query text with the reason. ``(None, "", [])`` when no unit holds any."""
    norm, hits = article_hits(article, compiled)
    units = _Units(norm)
    leaf_sets = [compiled.leaf_sets(h) for h in hits]
    best: tuple[float, int, int] | None = None
    found: tuple[str | None, str, list[str]] = (None, "", [])
    for index, rule in enumerate(compiled.rules):
        if rule.severity not in PAGING:
            continue
        parts = _conjuncts(rule.tree)
        positive = [p for p in parts if not isinstance(p, q.Not)] or parts
        for start, end in units.all(rule.scope):
            inside = [(h, ls[index]) for h, ls in zip(hits, leaf_sets) if ls[index] and h.start >= start and h.end <= end]
            if not inside:
                continue
            silenced: list[str] = []
            if rule.unless is not None:  # as the scan reads it: the hits of an unless-sentence do not count
                sentences = [(start, end)] if rule.scope == "sentence" else units.sentences_between(start, end)
                kept = _outside_unless(rule, inside, sentences, units)
                if len(kept) < len(inside):
                    silenced = [f"unless {show(rule.unless)}: holds in a sentence of it"]
                inside = kept
            held = [_holds(rule, p, inside, norm.lower) for p in positive]
            present = frozenset().union(*(ls for _, ls in inside))
            absent = sum(len(_absent(rule, p, present)) for p in positive)
            rank = (sum(held) / len(positive), -absent, -SEVERITIES.index(rule.severity))
            if best is None or rank > best:
                best = rank
                missing = [_why_not(rule, p, inside) for p, ok in zip(positive, held) if not ok]
                missing += [f"{show(p)}: present" for p in parts if isinstance(p, q.Not) and not _holds(rule, p, inside, norm.lower)]
                missing += silenced
                found = (rule.id, norm.original[norm.to_original(start):norm.to_original(end)], missing)
    return found


def _conjuncts(node: q.Node) -> list[q.Node]:
    """The top-level parts a unit must hold (nested ANDs flattened)."""
    if isinstance(node, q.And):
        return [p for n in node.operands for p in _conjuncts(n)]
    return [node]


def _holds(rule: CompiledRule, part: q.Node, inside: list[tuple[Hit, frozenset[int]]], text: str) -> bool:
    return evaluate(rule, inside, text, part)[0]


def _why_not(rule: CompiledRule, part: q.Node, inside: list[tuple[Hit, frozenset[int]]]) -> str:
    present = frozenset().union(*(ls for _, ls in inside))
    absent = _absent(rule, part, present)
    if not absent:
        return f"{show(part)}: its terms are all there, but not in that order or distance"
    if isinstance(part, (q.Term, q.Ref)):
        return f"{show(part)}: absent"
    return f"{show(part)}: no {' and no '.join(absent)}"


def _absent(rule: CompiledRule, node: q.Node, present: frozenset[int]) -> list[str]:
    """The parts of ``node`` with no hit at all in the unit (an OR only when every branch has none)."""
    if isinstance(node, (q.Term, q.Ref)):
        return [] if rule.leaves[node] in present else [show(node)]
    if isinstance(node, q.Not):
        return []
    if isinstance(node, q.Or):
        return [_wrap(node)] if all(_absent(rule, n, present) for n in node.operands) else []
    return [a for child in _children(node) for a in _absent(rule, child, present)]


def _children(node: q.Node) -> list[q.Node]:
    if isinstance(node, q.And):
        return list(node.operands)
    return [getattr(node, side) for side in ("left", "right") if hasattr(node, side)]


def _leaves(node: q.Node) -> list[q.Term | q.Ref]:
    return [n for n in q.walk(node) if isinstance(n, (q.Term, q.Ref))]


def show(node: q.Node) -> str:
    """A query node written back as query text (parenthesized where it is compound)."""
    if isinstance(node, q.Term):
        return f'"{node.text}"' if node.phrase else node.text
    if isinstance(node, q.Ref):
        return f"{node.field}:{node.name}"
    if isinstance(node, q.Not):
        return f"NOT {_wrap(node.operand)}"
    if isinstance(node, (q.And, q.Or)):
        return f" {type(node).__name__.upper()} ".join(map(_wrap, node.operands))
    if isinstance(node, q.Near):
        op = "BEFORE" if getattr(node, "ordered", False) else "NEAR"
        return f"{_wrap(node.left)} {op}/{node.distance} {_wrap(node.right)}"
    return str(node)


def _wrap(node: q.Node) -> str:
    return f"({show(node)})" if isinstance(node, (q.And, q.Or, q.Not)) else show(node)
