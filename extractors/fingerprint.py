"""Content fingerprints: an exact hash, and MinHash signatures for near-duplicate stories.

Copies of one story from several outlets usually share the body and differ in the
headline and a few edits of the lead; three-word shingles keep most of their
Jaccard similarity, while two different stories about the same actor share only
stock phrases and a pasted background paragraph.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Hashable

import numpy as np
from datasketch import LeanMinHash, MinHash, MinHashLSH

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
# The LSH bands (42 x 3 rows) favour recall: a pair at THRESHOLD is a candidate with p=0.94, at 0.5
# with p=0.996; every candidate is then checked against THRESHOLD on its full signature.
LSH_WEIGHTS = (0.1, 0.9)
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


class NearDuplicates:
    """An in-memory index of story signatures: which known story a new article is a copy of."""

    def __init__(self) -> None:
        self._lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM, weights=LSH_WEIGHTS)
        self._sigs: dict[Hashable, LeanMinHash] = {}

    def keys(self) -> set[Hashable]:
        return set(self._sigs)

    def add(self, key: Hashable, sig: LeanMinHash) -> None:
        if key not in self._sigs:
            self._lsh.insert(key, sig)
            self._sigs[key] = sig

    def remove(self, key: Hashable) -> None:
        if self._sigs.pop(key, None) is not None:
            self._lsh.remove(key)

    def match(self, sig: LeanMinHash) -> Hashable | None:
        """The most similar indexed key at or above THRESHOLD, or None."""
        scored = [(self._sigs[k].jaccard(sig), k) for k in self._lsh.query(sig)]
        best = max((s for s in scored if s[0] >= THRESHOLD), default=None, key=lambda s: s[0])
        return best[1] if best else None
