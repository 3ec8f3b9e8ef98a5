"""Content fingerprints: an exact hash, and a MinHash signature for near-duplicate stories.

Copies of one story from several outlets usually share the body and differ in the
headline and a few edits; three-word shingles of the text keep most of their
Jaccard similarity, while two different stories about the same actor share
only a few stock phrases (see tests/test_fingerprint.py for the measured values).
"""

from __future__ import annotations

import hashlib
import re

import numpy as np
from datasketch import LeanMinHash, MinHash

from extractors.article import Article

NUM_PERM = 128
SEED = 1
SHINGLE = 3
THRESHOLD = 0.5  # Jaccard similarity above which two articles are one story
_WORD = re.compile(r"[^\W_]+")
_SCHEME = MinHash(num_perm=1, seed=SEED).scheme  # stored with the values' meaning


def words(article: Article) -> list[str]:
    return _WORD.findall(article.text.lower())


def content_fingerprint(article: Article) -> str:
    """sha256 of the article's words: identical content, whatever the spacing or case."""
    return hashlib.sha256(" ".join(words(article)).encode()).hexdigest()


def signature(article: Article) -> LeanMinHash:
    w = words(article)
    shingles = {" ".join(w[i : i + SHINGLE]) for i in range(max(1, len(w) - SHINGLE + 1))}
    m = MinHash(num_perm=NUM_PERM, seed=SEED)
    m.update_batch([s.encode() for s in shingles])
    return LeanMinHash(m)


def to_bytes(sig: LeanMinHash) -> bytes:
    return np.asarray(sig.hashvalues, dtype=np.uint64).tobytes()


def from_bytes(data: bytes) -> LeanMinHash:
    return LeanMinHash(seed=SEED, hashvalues=np.frombuffer(data, dtype=np.uint64), scheme=_SCHEME)
