"""Throughput of `tocsin scan`, of the matcher alone, and of a naive regex baseline.

Generates a reproducible corpus (seed-format files) and a watch list of 10,000
aliases in a temporary directory, then prints, from one run:

- the full pipeline: `tocsin scan DIR` in-process (load and compile the watch list,
  read, parse, scan, JSON out), each time with a cold term cache;
- the matcher alone: Hyperscan + boundary checks + overlap resolution on each article's
  normalized text; then normalization alone, and the two together;
- the naive baseline: one compiled regex per alias, looped over the text
  (measured once, on a sample of the corpus, since the whole would take minutes);
- the ratios, from the medians.

``--lang ar`` runs the same measurements on an Arabic corpus too (aliases of Arabic
syllables, body words taken from the project's Arabic test articles in tests/arabic/,
some with a proclitic or a tanwin as in news copy), after the English one in the same
run, then times the matcher on both corpora with English and Arabic runs alternating (a
shared machine's load changes from one minute to the next) and prints the Arabic/English
throughput ratios in characters per second (an Arabic letter is two bytes of UTF-8, so
MB/s alone would flatter it).

Each figure but the baseline is the median of ``--repeat`` runs, with the slowest and
fastest in brackets: on a shared 2-core machine one run can be 20% off another.

    python bench/scan.py [--articles 5000] [--aliases 10000] [--repeat 5] [--seed 7] [--lang en|ar]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import random
import re
import statistics
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from extractors.matcher import WORD, _shape  # noqa: E402
from extractors.normalize import normalize  # noqa: E402
from flows.cli import main as tocsin  # noqa: E402
from flows.compiled import load_compiled  # noqa: E402

SYLLABLES = "ba ka ri sha dun el mo qa tar zin hel ur vo na lis gor am fe ti pra os".split()
# Body text: common English words and pseudo-words of other letters than the aliases',
# so that hits come from the mentions inserted, as in real news.
COMMON = "the of and to in that is was for on with as by at from it an be this are have has said not but they were which his their".split()
KINDS = ["state", "armed-group", "leader", "party"]
THREATS = ["will be targeted", "threatened", "vowed to strike", "warned of retaliation", "claimed a drone attack"]


AR_SYLLABLES = "با كا ري شا دون مو قا تار زين هل ور فو نا ليس غور ام في تي برا وس".split()
AR_THREATS = ["سيتم استهدافها", "توعدت", "هدف مشروع", "حذرت من الانتقام", "تبنت هجوما بطائرة مسيرة"]
AR_LEXICONS = {"threat": ["تهديد*", "سيتم استهداف*", "هدف مشروع", "توعد*", "الانتقام"], "attack": ["هجوم*", "بطائرة مسيرة", "قصف*"],
               "denial": ["نفت", "نفى"]}
AR_PROCLITICS = ["و", "ب", "ل", "وب", "ف"]


def word(rng: random.Random, lang: str = "en") -> str:
    syllables = AR_SYLLABLES if lang == "ar" else SYLLABLES
    return "".join(rng.choice(syllables) for _ in range(rng.randint(1, 3)))


def arabic_vocabulary() -> list[str]:
    """The Arabic words of the project's Arabic test articles."""
    text = " ".join(p.read_text() for p in sorted((ROOT / "tests" / "arabic").glob("*.txt")))
    return [w for w in WORD.findall(text) if not w.isascii()]


def make_watchlist(rng: random.Random, n_aliases: int, lang: str = "en") -> dict:
    actors, seen = [], set()
    for i in range(n_aliases // 5):
        aliases = []
        while len(aliases) < 5:
            alias = " ".join(word(rng, lang) if lang == "ar" else word(rng).capitalize() for _ in range(rng.randint(1, 3)))
            if alias.lower() not in seen and len(alias) > 4:
                seen.add(alias.lower())
                aliases.append(alias)
        actors.append({"id": f"actor-{i}", "name": aliases[0], "kind": KINDS[i % len(KINDS)], "aliases": aliases})
    return {
        "version": 1,
        "actors": actors,
        "lexicons": AR_LEXICONS if lang == "ar" else {"threat": ["threat*", "will be targeted", "vow* to strike", "warn* of retaliation"], "attack": ["attack*", "drone attack*", "strike*"], "denial": ["denied", "deny"]},
        "rules": [
            {"id": "group-threat", "title": "Armed group threat", "severity": "high", "query": "kind:armed-group NEAR/15 lexicon:threat AND NOT lexicon:denial"},
            {"id": "leader-threat", "title": "Leader threat", "severity": "medium", "query": "kind:leader NEAR/10 (lexicon:threat OR lexicon:attack)"},
            {"id": "state-attack", "title": "Attack on a state", "severity": "medium", "scope": "paragraph",
             "query": 'kind:state AND lexicon:attack AND NOT ' + ('"لا إصابات"' if lang == "ar" else '"no casualties"')},
            {"id": "mention", "title": "Party mentioned", "severity": "info", "scope": "article", "query": "kind:party"},
        ],
    }


def text_word(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return rng.choice(COMMON)
    return "".join(rng.choice("ptkwsdlmnr") + rng.choice("aeiouy") for _ in range(rng.randint(2, 4)))


def make_arabic_article(rng: random.Random, aliases: list[str], size: int, vocabulary: list[str]) -> str:
    """As ``make_article``, in Arabic: words of the test articles or of other letters than the
    aliases', one in twenty with a tanwin (dropped by normalization), a proclitic on a third of
    the mentions."""
    def text_word() -> str:
        w = rng.choice(vocabulary) if rng.random() < 0.5 else "".join(rng.choice("جحخصضطظعغ") + rng.choice("اوي") for _ in range(rng.randint(2, 4)))
        return w + "اً" if rng.random() < 0.05 else w

    paragraphs, total = [], 0
    while total < size:
        sentences = []
        for _ in range(rng.randint(2, 5)):
            words = [text_word() for _ in range(rng.randint(8, 25))]
            if rng.random() < 0.25:
                words.insert(rng.randrange(len(words)), (rng.choice(AR_PROCLITICS) if rng.random() < 0.3 else "") + rng.choice(aliases))
            if rng.random() < 0.08:
                words.insert(rng.randrange(len(words)), rng.choice(AR_THREATS))
            sentences.append(" ".join(words) + ".")
        paragraph = " ".join(sentences)
        paragraphs.append(paragraph)
        total += len(paragraph)
    title = " ".join(text_word() for _ in range(8))
    return f"{title}\nوكالة الاختبار/ " + "\n".join(paragraphs) + "\n"


def make_article(rng: random.Random, aliases: list[str], size: int) -> str:
    """About ``size`` characters; a watched actor in a quarter of the sentences, threat language in one in twelve."""
    paragraphs, total = [], 0
    while total < size:
        sentences = []
        for _ in range(rng.randint(2, 5)):
            words = [text_word(rng) for _ in range(rng.randint(8, 25))]
            if rng.random() < 0.25:
                words.insert(rng.randrange(len(words)), rng.choice(aliases))
            if rng.random() < 0.08:
                words.insert(rng.randrange(len(words)), rng.choice(THREATS))
            sentences.append(" ".join(words).capitalize() + ".")
        paragraph = " ".join(sentences)
        paragraphs.append(paragraph)
        total += len(paragraph)
    title = " ".join(text_word(rng) for _ in range(8)).capitalize()
    return f"{title}\nBench Wire/ " + "\n".join(paragraphs) + "\n"


def timed(repeat: int, run: Callable[[], object]) -> list[float]:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return times


def rate(n_articles: int, n_bytes: int, times: list[float]) -> str:
    """Median rate, and the slowest and fastest run's MB/s."""
    mid = statistics.median(times)
    return (f"{n_articles / mid:10.0f} articles/s  {n_bytes / mid / 1e6:8.1f} MB/s  ({mid:.2f} s)"
            f"  [{n_bytes / max(times) / 1e6:.1f}-{n_bytes / min(times) / 1e6:.1f} MB/s]")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lang", choices=["en", "ar"], default="en", help="ar: the Arabic corpus too, after the English one")
    ap.add_argument("--articles", type=int, default=5000)
    ap.add_argument("--aliases", type=int, default=10_000)
    ap.add_argument("--size", type=int, default=4200, help="characters per article")
    ap.add_argument("--baseline-sample", type=int, default=20, help="articles the naive baseline scans")
    ap.add_argument("--repeat", type=int, default=5, help="runs of each measurement")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    runs = {lang: bench(args, lang) for lang in (["en", "ar"] if args.lang == "ar" else ["en"])}
    if "ar" in runs:
        head_to_head(args.repeat, runs)


def head_to_head(repeat: int, runs: dict[str, tuple[object, list[str]]]) -> None:
    """The matcher on both corpora, English and Arabic runs alternating, so that both meet the
    same load on a shared machine; medians in characters per second."""
    print("\nArabic / English head to head (runs alternating), characters per second:")
    norms = {lang: [normalize(t) for t in texts] for lang, (_, texts) in runs.items()}
    chars = {lang: sum(map(len, texts)) for lang, (_, texts) in runs.items()}
    work = {
        "matcher alone": lambda lang: deque(map(runs[lang][0].matcher.find, norms[lang]), maxlen=0),  # type: ignore[attr-defined]
        "normalization": lambda lang: deque(map(normalize, runs[lang][1]), maxlen=0),
        "normalize + match": lambda lang: deque(map(runs[lang][0].matcher.find, map(normalize, runs[lang][1])), maxlen=0),  # type: ignore[attr-defined]
    }
    for name, run in work.items():
        times: dict[str, list[float]] = {"en": [], "ar": []}
        for _ in range(max(repeat, 5)):
            for lang in times:
                times[lang] += timed(1, lambda: run(lang))
        en, ar = (chars[lang] / statistics.median(times[lang]) for lang in ("en", "ar"))
        print(f"  {name:<17} en {en / 1e6:7.2f} Mchar/s   ar {ar / 1e6:7.2f} Mchar/s   ar/en {ar / en:5.2f}")
    print("target: the Arabic matcher within 2x of the English one (ar/en >= 0.5)")


def bench(args: argparse.Namespace, lang: str) -> tuple[object, list[str]]:
    """Run every measurement on a corpus in ``lang``; return its compiled watch list and texts."""
    print(f"=== {'Arabic' if lang == 'ar' else 'English'} corpus ===")
    rng = random.Random(args.seed)
    vocabulary = arabic_vocabulary() if lang == "ar" else []
    with tempfile.TemporaryDirectory(prefix="tocsin-bench-") as tmp:
        wl = make_watchlist(rng, args.aliases, lang)
        wl_path = Path(tmp) / "watchlist.yaml"
        wl_path.write_text(yaml.safe_dump(wl, sort_keys=False, allow_unicode=True))
        aliases = [a for actor in wl["actors"] for a in actor["aliases"]]
        corpus = Path(tmp) / "corpus"
        corpus.mkdir()
        texts = []
        for i in range(args.articles):
            text = make_arabic_article(rng, aliases, args.size, vocabulary) if lang == "ar" else make_article(rng, aliases, args.size)
            (corpus / f"{i:06d}_{i:016x}.txt").write_text(text)
            texts.append(text)
        n_bytes = sum(len(t.encode()) for t in texts)
        n_chars = sum(map(len, texts))
        print(f"corpus: {args.articles} articles, {n_bytes / 1e6:.1f} MB; watch list: {len(aliases)} aliases, {len(wl['rules'])} rules")

        def load() -> None:
            _shape.cache_clear()  # the command starts cold, as it would in a new process
            load_compiled(str(wl_path))  # as `tocsin scan` does

        compiling = timed(args.repeat, load)
        _, compiled = load_compiled(str(wl_path))
        print(f"load + compile watch list: {statistics.median(compiling):.2f} s  [{min(compiling):.2f}-{max(compiling):.2f} s]")

        outputs: list[str] = []

        def pipeline() -> None:
            _shape.cache_clear()
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                status = tocsin(["scan", str(corpus), "--watchlist", str(wl_path)])
            assert status == 0 and out.getvalue().count("\n") == args.articles, status
            outputs[:] = [out.getvalue()]

        full = timed(args.repeat, pipeline)
        alerts = outputs[0].count('"rule":')
        print(f"full scan pipeline:  {rate(args.articles, n_bytes, full)}  [{alerts} alerts]")
        without = [t - statistics.median(compiling) for t in full]
        print(f"  without the one-time watch-list load + compile: {rate(args.articles, n_bytes, without)}")
        del outputs[:]

        norms = [normalize(t) for t in texts]
        hits = sum(len(compiled.matcher.find(n)) for n in norms)
        alone = timed(args.repeat, lambda: deque(map(compiled.matcher.find, norms), maxlen=0))
        normalizing = timed(args.repeat, lambda: deque(map(normalize, texts), maxlen=0))
        del norms
        both = timed(args.repeat, lambda: deque(map(compiled.matcher.find, map(normalize, texts)), maxlen=0))
        print(f"matcher alone:       {rate(args.articles, n_bytes, alone)}  [{hits} hits, {hits / n_bytes * 1000:.1f} per KB]")
        print(f"normalization alone: {rate(args.articles, n_bytes, normalizing)}")
        print(f"normalize + match:   {rate(args.articles, n_bytes, both)}")

        sample = texts[: args.baseline_sample]
        sample_bytes = sum(len(t.encode()) for t in sample)
        regexes = [re.compile(r"\b" + re.escape(a) + r"\b", re.IGNORECASE) for a in aliases]
        t0 = time.perf_counter()
        naive_hits = sum(len(r.findall(t)) for t in sample for r in regexes)
        naive = time.perf_counter() - t0
        print(f"naive regex loop:    {rate(len(sample), sample_bytes, [naive])}  [{naive_hits} hits; {len(sample)}-article sample]")

        naive_mbs = sample_bytes / naive
        for name, times in (("matcher", alone), ("normalize+match", both), ("pipeline", full)):
            print(f"ratio {name}/naive: {n_bytes / statistics.median(times) / naive_mbs:8.0f}x")
        print("targets: matcher >= 100 MB/s, pipeline >= 20 MB/s, both >= 100x naive")
        print(f"characters: {n_chars / statistics.median(alone) / 1e6:.1f} Mchar/s matcher alone, "
              f"{n_chars / statistics.median(full) / 1e6:.2f} Mchar/s full pipeline")
        return compiled, texts


if __name__ == "__main__":
    main()
