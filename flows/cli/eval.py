"""`tocsin eval`: score a watch list's paging against labelled articles (extractors/evaluate.py)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from extractors.errors import ArticleError
from extractors.evaluate import Case, Label, Report, Score, read_labels, score
from extractors.scan import scan_article
from flows.compiled import load_compiled
from flows.ingest.articles import iter_article_paths, read_articles

PROGRESS_EVERY = 2.0  # seconds between progress lines on stderr


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "eval", parents=[common], help="score the watch list's pages against labelled articles",
        description="Precision, recall and F1 of paging (any high or critical alert) against an analyst's labels, "
                    "overall, per rule and per severity, with every false page and every miss.",
    )
    p.add_argument("labels", nargs="?", metavar="LABELS",
                   help='a JSON-lines file: {"id": ARTICLE_ID, "analyst_alert": true|false, "why": ...} per line')
    p.add_argument("articles", nargs="*", metavar="ARTICLES",
                   help="article files or directories (default: the directory of LABELS)")
    p.add_argument("--feedback", action="store_true",
                   help="score on the alerts analysts labelled with `tocsin alerts label` (the state store), re-scanning their articles")
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.add_argument("--min-precision", type=_fraction, metavar="P", help="exit 1 when paging precision is below P (0-1)")
    p.add_argument("--min-recall", type=_fraction, metavar="R", help="exit 1 when paging recall is below R (0-1)")
    p.set_defaults(handler=run)


def _fraction(value: str) -> float:
    try:
        x = float(value)
    except ValueError:
        x = -1.0
    if not 0.0 <= x <= 1.0:
        raise argparse.ArgumentTypeError(f"not a fraction between 0 and 1: {value!r}")
    return x


def run(args: argparse.Namespace) -> int:
    if bool(args.labels) == args.feedback:
        raise ValueError("eval: give a LABELS file or --feedback (one of them)")
    _, compiled = load_compiled(args.watchlist)
    if args.feedback:
        from flows.store.db import connect
        from flows.store.feedback import labelled_articles

        pairs, without_text = labelled_articles(connect())
        status = 0
        if without_text:
            print(f"tocsin: eval: {without_text} labelled alert(s) recorded before article texts were kept, left out", file=sys.stderr)
    else:
        pairs, status = _from_files(args.labels, args.articles)
    if not pairs:
        raise ValueError("eval: no labelled article to score")
    cases: list[Case] = []
    progress = _Progress(len(pairs))
    for label, article in pairs:
        cases.append(Case(label, article, scan_article(article, compiled)))
        progress.tick()
    report = score(cases, compiled)
    if args.format == "json":
        print(json.dumps(report.to_json(), ensure_ascii=False, indent=1))
    else:
        print(table(report))
    for name, floor, value in (("precision", args.min_precision, report.overall.precision),
                               ("recall", args.min_recall, report.overall.recall)):
        if floor is not None and value < floor:
            print(f"tocsin: eval: paging {name} {value:.3f} is below --min-{name} {floor}", file=sys.stderr)
            status = 1
    return status


def _from_files(labels_path: str, paths: list[str]) -> tuple[list[tuple[Label, object]], int]:
    """(label, article) for every labelled article found; each problem is one stderr line."""
    labels = {lb.id: lb for lb in read_labels(labels_path)}
    labels_file = Path(labels_path).resolve()
    files = [f for f in iter_article_paths(paths or [labels_file.parent]) if f.resolve() != labels_file]
    status, found, unlabelled = 0, {}, 0
    for path, item in read_articles(files):
        if isinstance(item, ArticleError):
            print(f"tocsin: {path}: {item}", file=sys.stderr)
            status = 1
        elif item.id in labels and item.id not in found:
            found[item.id] = item
        else:
            unlabelled += item.id not in labels
    missing = [i for i in labels if i not in found]
    if missing:
        shown = ", ".join(missing[:5]) + (" …" if len(missing) > 5 else "")
        print(f"tocsin: eval: {len(missing)} labelled article(s) not found, left out: {shown}", file=sys.stderr)
        status = 1
    if unlabelled:
        print(f"tocsin: eval: {unlabelled} article(s) without a label, left out", file=sys.stderr)
    return [(labels[i], found[i]) for i in labels if i in found], status


class _Progress:
    """A stderr line every few seconds while a long evaluation runs."""

    def __init__(self, total: int) -> None:
        self.total, self.done, self.last = total, 0, time.monotonic()

    def tick(self) -> None:
        self.done += 1
        now = time.monotonic()
        if now - self.last >= PROGRESS_EVERY and self.done < self.total:
            print(f"tocsin: eval: scanned {self.done}/{self.total} articles", file=sys.stderr)
            self.last = now


def _figures(s: Score) -> str:
    return f"{s.tp:>4} {s.fp:>4} {s.fn:>4} {s.tn:>4}  {s.precision:>9.3f} {s.recall:>6.3f} {s.f1:>6.3f}"


def table(report: Report) -> str:
    """The report for people: scores, then each false page and miss."""
    head = f"{'tp':>4} {'fp':>4} {'fn':>4} {'tn':>4}  {'precision':>9} {'recall':>6} {'f1':>6}"
    lines = [f"{report.articles} articles, {report.should_page} should page, {report.paged} paged "
             "(paged = any high or critical alert)", "", f"{'':<28}{head}", f"{'paging':<28}{_figures(report.overall)}", "",
             f"{'rule':<28}{head}  {'severity':<8} {'fired':>5} {'only':>4}"]
    for r in report.rules:
        lines.append(f"{r.rule[:27]:<28}{_figures(r.score)}  {r.severity + ('' if r.pages else ' *'):<8} {r.fired:>5} {r.only:>4}")
    lines += ["(* does not page; only = should-page articles no other rule paged)", "", f"{'alert of severity':<28}{head}"]
    lines += [f"{sev:<28}{_figures(s)}" for sev, s in report.severities.items()]
    for title, findings, label in (("false pages", report.false_pages, "fired"), ("misses", report.misses, "closest")):
        lines += ["", f"{title} ({len(findings)}):"]
        for f in findings:
            lines.append(f"  {f.id}  {f.headline}")
            if f.rules:
                lines.append(f"      {label}: {', '.join(f.rules)}: {f.sentence}")
            else:
                lines.append(f"      {label}: no sentence holds any part of a paging rule")
            lines += [f"      missing {m}" for m in f.missing]
            if f.why:
                lines.append(f"      label: {f.why}")
    return "\n".join(lines)
