"""Article-body extraction quality and speed: tocsin's ``extract_html`` against trafilatura and
readability-lxml (each when installed: ``pip install -e '.[bench]'``), from one run.

Reads the scrapinghub article-extraction benchmark pages in ``../shared/corpora/article-extraction``
(``html/<id>.html.gz`` and ``ground-truth.json``) and scores every extractor with the benchmark's
own ``evaluate.py`` (token 4-gram shingles; precision and recall averaged over pages). Prints, per
extractor: F1, precision, recall, ms/page (median page time, the whole run's mean in brackets),
the number of pages with F1 < 0.5, and the share of returned paragraphs that are not article text
(a paragraph none of whose words-in-order appear in the ground truth: fewer than half its
4-gram shingles, or for a shorter one its whole token run, found there). Then the pages where
trafilatura scores >= 0.9 and tocsin < 0.5 (the issue's floor), with ``--pages`` every page's F1.

    python bench/extract.py [--corpus DIR] [--pages] [--output-dir DIR]

``--output-dir`` writes ``output/<name>.json`` in the benchmark's format, so that
``cd DIR && python CORPUS/evaluate.py`` reproduces the table with bootstrap errors.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import statistics
import sys
import time
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from extractors.charset import decode_html  # noqa: E402
from extractors.errors import ArticleError  # noqa: E402
from extractors.html import extract_html  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpora" / "article-extraction"
Extractor = Callable[[bytes], list[str]]


def tocsin(html: bytes) -> list[str]:
    try:
        return extract_html(html, id="bench").paragraphs
    except ArticleError:
        return []


def extractors() -> dict[str, Extractor]:
    found: dict[str, Extractor] = {"tocsin": tocsin}
    try:
        import trafilatura

        found["trafilatura"] = lambda html: (trafilatura.extract(html) or "").splitlines()
    except ImportError:
        pass
    try:
        from lxml.html import fromstring
        from readability import Document

        def readability(html: bytes) -> list[str]:
            summary = Document(decode_html(html)).summary(html_partial=True)  # 0.8.x cannot take bytes
            return [t for p in fromstring(summary).iter("p", "li", "h2", "h3", "pre") if (t := " ".join(p.text_content().split()))]

        found["readability"] = readability
    except ImportError:
        pass
    return found


def load_scorer(corpus: Path):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("evaluate", corpus / "evaluate.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def foreign(paragraph: str, truth_tokens: list[str], truth_shingles: set, scorer) -> bool:  # type: ignore[no-untyped-def]
    """True when ``paragraph`` is not article text by the ground truth."""
    tokens = scorer._tokenize(paragraph)
    if not tokens:
        return False
    if len(tokens) >= 4:
        shingles = scorer._ngrams(paragraph, 4)
        return sum(s in truth_shingles for s in shingles) < len(shingles) / 2
    n = len(tokens)
    return not any(truth_tokens[i : i + n] == tokens for i in range(len(truth_tokens) - n + 1))


def page_f1(tp: float, fp: float, fn: float) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp else (1.0 if fp == fn == 0 else 0.0)


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return ""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=CORPUS)
    ap.add_argument("--pages", action="store_true", help="print every page's F1 per extractor")
    ap.add_argument("--output-dir", type=Path, help="write output/<name>.json for the benchmark's evaluate.py")
    args = ap.parse_args()
    scorer = load_scorer(args.corpus)
    truth = json.loads((args.corpus / "ground-truth.json").read_text(encoding="utf-8"))
    pages = {key: gzip.decompress((args.corpus / "html" / f"{key}.html.gz").read_bytes()) for key in truth}
    per_page: dict[str, dict[str, float]] = {}
    print(f"{len(pages)} pages from {args.corpus}")
    print(f"{'extractor':<22} {'F1':>6} {'prec.':>6} {'recall':>6} {'ms/page':>16} {'F1<0.5':>7} {'not article':>12}")
    for name, extract in extractors().items():
        label = f"{name} {_version('readability-lxml' if name == 'readability' else name)}"
        outputs, times, returned, strays = {}, [], 0, 0
        for key, html in pages.items():
            start = time.perf_counter()
            try:
                paragraphs = extract(html)
            except Exception:  # an extractor failing on a page scores it empty  # noqa: BLE001
                paragraphs = []
            times.append(time.perf_counter() - start)
            outputs[key] = {"articleBody": "\n".join(paragraphs)}
            truth_text = truth[key].get("articleBody", "")
            truth_tokens = scorer._tokenize(truth_text)
            truth_shingles = set(scorer._ngrams(truth_text, 4))
            returned += len(paragraphs)
            strays += sum(foreign(p, truth_tokens, truth_shingles, scorer) for p in paragraphs)
        m = scorer.evaluate(truth, outputs, n_bootstrap=0)
        per_page[name] = {key: page_f1(*t) for key, t in zip(truth, m["tp_fp_fns"])}
        low = sum(f < 0.5 for f in per_page[name].values())
        ms = f"{statistics.median(times) * 1000:.0f} ({statistics.mean(times) * 1000:.0f})"
        share = f"{strays / max(returned, 1):.1%} of {returned}"
        print(f"{label:<22} {m['f1']:6.3f} {m['precision']:6.3f} {m['recall']:6.3f} {ms:>16} {low:>7} {share:>12}")
        if args.output_dir:
            (args.output_dir / "output").mkdir(parents=True, exist_ok=True)
            (args.output_dir / "output" / f"{name}.json").write_text(json.dumps({"version": "", "output": outputs}))
    if "trafilatura" in per_page:
        floor = [k for k in truth if per_page["trafilatura"][k] >= 0.9 and per_page["tocsin"][k] < 0.5]
        print(f"pages where trafilatura >= 0.9 and tocsin < 0.5: {len(floor)}" + "".join(f"\n  {k}" for k in floor))
    if args.pages:
        names = list(per_page)
        print("page".ljust(16) + "".join(f"{n:>13}" for n in names))
        for key in truth:
            print(key[:16] + "".join(f"{per_page[n][key]:13.3f}" for n in names))
    if args.output_dir:
        (args.output_dir / "ground-truth.json").write_text(json.dumps(truth))
    return 0


if __name__ == "__main__":
    sys.exit(main())
