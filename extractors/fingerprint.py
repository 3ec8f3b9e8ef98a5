"""Content fingerprints: an exact hash, and MinHash signatures for near-duplicate stories.

Copies of one story from several outlets usually share the body and differ in the
headline and a few edits of the lead; three-word shingles keep most of their
Jaccard similarity, while two different stories about the same actor share only
stock phrases and a pasted background paragraph.

Short items (a headline and a line) are another matter: "drone attack on US base in
Erbil" and "... in Syria" share most of their shingles and are different incidents.
A short story therefore keeps its distinguishing ``details`` (numbers, and capitalized
words not opening a sentence: places, names, dates), and a copy joins it only if they
``agree``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Hashable, Iterable

import numpy as np
from datasketch import LeanMinHash, MinHash

from extractors.article import Article

NUM_PERM = 128
SEED = 1
SHINGLE = 3
# Chosen on the story families of tests/test_fingerprint.py (300-400 words each, MinHash estimates):
# re-worded copies (headline and lead edited) 0.77-0.89; copies with two paragraphs cut and a
# boilerplate line added 0.50-0.77; different stories about the same actor 0.08-0.10 (they share a
# background paragraph); unrelated stories <= 0.02. 0.4 keeps the cut copies with a margin and stays
# 4x above the same-actor pairs.
THRESHOLD = 0.4
# The LSH bands favour recall: a pair at THRESHOLD is a candidate with p=0.94, at 0.5 with p=0.996
# (datasketch's optimum for THRESHOLD with false-positive and -negative weights 0.1 and 0.9); every
# candidate is then checked against THRESHOLD on its full signature.
BANDS, ROWS = 42, 3


def _constants(name: str, n: int) -> np.ndarray:
    """Fixed 64-bit constants (band keys are stored: they must never change)."""
    return np.array([int.from_bytes(hashlib.sha256(f"{name}-{i}".encode()).digest()[:8], "little") for i in range(n)], dtype=np.uint64)


_MIX = _constants("tocsin-band-row", ROWS) | np.uint64(1)  # odd multipliers
_BAND_SALT = _constants("tocsin-band", BANDS)
_WORD = re.compile(r"[^\W_]+")
_SCHEME = MinHash(num_perm=1, seed=SEED).scheme


def words(article: Article) -> list[str]:
    return _WORD.findall(article.text.lower())


def content_fingerprint(article: Article) -> str:
    """sha256 hex of the title and body's words, lower-cased: the same whatever the spacing or punctuation."""
    return hashlib.sha256(" ".join(words(article)).encode()).hexdigest()


def signature(article: Article) -> LeanMinHash:
    """MinHash of the article's word 3-shingles; deterministic across processes and runs."""
    w = words(article)
    shingles = {" ".join(w[i : i + SHINGLE]) for i in range(max(1, len(w) - SHINGLE + 1))}
    m = MinHash(num_perm=NUM_PERM, seed=SEED)
    m.update_batch([s.encode() for s in shingles])
    return LeanMinHash(m)


def to_bytes(sig: LeanMinHash) -> bytes:
    return np.asarray(sig.hashvalues, dtype=np.uint64).tobytes()


def from_bytes(data: bytes) -> LeanMinHash:
    return LeanMinHash(seed=SEED, hashvalues=np.frombuffer(data, dtype=np.uint64), scheme=_SCHEME)


def band_keys(sig: LeanMinHash) -> list[int]:
    """The signature's LSH bands as 63-bit keys: two signatures share the key of a band when
    they agree on all its rows (a different band never gives the same key, bar a hash collision,
    which only adds a candidate that ``most_similar`` then rejects)."""
    rows = np.asarray(sig.hashvalues[: BANDS * ROWS], dtype=np.uint64).reshape(BANDS, ROWS)
    mixed = (rows * _MIX).sum(axis=1, dtype=np.uint64) + _BAND_SALT  # wraps modulo 2**64, as meant
    return (mixed >> np.uint64(1)).astype(np.int64).tolist()


SHORT_WORDS = 100  # a story whose first copy has at most this many words is checked for details
_SENTENCE_END = re.compile(r"[.!?:;]\s+|\n")


def is_short(article: Article) -> bool:
    return len(words(article)) <= SHORT_WORDS


def details(article: Article) -> frozenset[str]:
    """The words that tell an incident from another like it, lower-cased: every word with a
    digit (numbers, dates), and every capitalized word that does not open its sentence
    (places, people, groups, months and days in languages that capitalize them)."""
    found = set()
    for sentence in _SENTENCE_END.split(article.text):
        for n, word in enumerate(_WORD.findall(sentence)):
            if any(c.isdigit() for c in word) or (n and word[0].isupper()):
                found.add(word.lower())
    return frozenset(found)


def agree(story: Iterable[str] | None, article_details: frozenset[str], article_words: set[str]) -> bool:
    """Whether an article may be a copy of a story with these ``story`` details (None: a long
    story, not checked): not when each names something the other does not, like two places
    or two death tolls. A copy that only adds details (", Iraq") still agrees."""
    if story is None:
        return True
    story = set(story)
    return not (article_details - story and story - article_words)


def most_similar(sig: LeanMinHash, candidates: Iterable[tuple[Hashable, LeanMinHash]]) -> Hashable | None:
    """The candidate most similar to ``sig`` at or above THRESHOLD (the first of equals), or None."""
    best, best_score = None, THRESHOLD
    for key, other in candidates:
        score = np.count_nonzero(other.hashvalues == sig.hashvalues) / NUM_PERM
        if score > best_score or (best is None and score == best_score):
            best, best_score = key, score
    return best
