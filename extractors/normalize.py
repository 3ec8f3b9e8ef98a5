"""Text normalization for matching (spec §3), with offsets back to the original.

``normalize(text)`` returns two aligned copies of the text, ``cased`` and
``lower``, both NFKC-normalized, with typographic quotes made ASCII, every dash
or hyphen turned into a space (so ``Iran-backed`` and ``Iran backed`` are the
same), and runs of spaces folded to one. Newlines are kept: they separate
paragraphs. Single typographic quotes become ``'`` and double ones ``"`` (the
spec says "quotes and apostrophes to '"; keeping double quotes apart keeps
sentence ends like ``."`` recognisable and changes no match).

Arabic (docs/arabic.md): tashkeel, the superscript alef, Quranic annotation marks and
tatweel are dropped; alef forms (أ إ آ ٱ) become ا, ى becomes ي, ة becomes ه, Persian
ی ک become ي ك, and Arabic-Indic and Persian digits become ASCII digits. The one-to-one
mappings share the translation table with the quotes and dashes (English text pays
nothing); the dropped marks take the same offset-keeping path as folded spaces.

Most real text needs no per-character work: the fast path is a few C-level
string operations, and only text that changes length (NFKC expansions, folded
space runs, case changes of odd letters) pays for an explicit offset map.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass

_SINGLE_QUOTES = "\u2018\u2019\u201a\u201b\u2032\u02bc\u02b9\u0060\u00b4"
_DOUBLE_QUOTES = "\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb"
_DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d\u2e3a\u2e3b"
_SPACES = "\t\r\f\v\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"

# Arabic: one-to-one letter and digit folds; and the marks that are dropped (tashkeel
# U+064B-U+065F, superscript alef U+0670, Quranic annotation marks, tatweel U+0640).
ARABIC_FOLDS = {
    **dict.fromkeys("\u0623\u0625\u0622\u0671", "\u0627"),  # أ إ آ ٱ -> ا
    "\u0649": "\u064a",  # ى -> ي
    "\u0629": "\u0647",  # ة -> ه
    "\u06cc": "\u064a",  # Persian ی -> ي
    "\u06a9": "\u0643",  # Persian ک -> ك
    "\u066b": ".",  # Arabic decimal separator
    "\u066c": ",",  # Arabic thousands separator
    **{chr(0x0660 + d): str(d) for d in range(10)},  # Arabic-Indic digits
    **{chr(0x06F0 + d): str(d) for d in range(10)},  # Persian (Extended Arabic-Indic) digits
}
_ARABIC_DROPPED = "\u0610-\u061a\u0640\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e8\u06ea-\u06ed"
_HAS_DROPPED = re.compile(f"[{_ARABIC_DROPPED}]")

_TABLE = str.maketrans(
    {
        **{c: "'" for c in _SINGLE_QUOTES},
        **{c: '"' for c in _DOUBLE_QUOTES},
        **{c: " " for c in _DASHES},
        **{c: " " for c in _SPACES},
        **ARABIC_FOLDS,
    }
)
# The slow path handles one character at a time, so it can simply delete the dropped marks.
_SLOW_TABLE = {**_TABLE, **{c: None for c in range(0x10000) if _HAS_DROPPED.match(chr(c))}}
_SPACE_RUN = re.compile(r" {2,}")
# Text with dropped marks: a run of spaces and marks holding a mark becomes one space if it
# holds a space, else nothing; a run of two or more spaces becomes one. (Spelled to start with a
# character class, which lets the regex engine skip ahead to candidates.)
_SQUEEZE = re.compile(f"[ {_ARABIC_DROPPED}](?:(?<=[{_ARABIC_DROPPED}])[ {_ARABIC_DROPPED}]*|[ {_ARABIC_DROPPED}]+)")
# Faster, where the text fits the Arabic single-byte code page (cp1256, which holds tashkeel and
# tatweel): its bytes are the text's offsets, and ``bytes.find`` finds each mark at C speed.
_MARK_BYTES = "".join(c for c in map(chr, range(0x0600, 0x0700)) if _HAS_DROPPED.match(c)).encode("cp1256", "ignore")
_NOT_MARK_BYTES = bytes(b for b in range(256) if b not in _MARK_BYTES)
_SPACE_OR_MARK = frozenset(" " + _MARK_BYTES.decode("cp1256"))
# str.translate looks every non-ASCII character up in the table one by one; for non-ASCII text,
# replacing only the mapped characters that occur is several times faster.
_MAPPED = tuple(map(chr, _TABLE))


def _translate(text: str) -> str:
    if text.isascii():
        return text.translate(_TABLE)
    for ch in _MAPPED:
        if ch in text:
            text = text.replace(ch, _TABLE[ord(ch)])
    return text


def _squeezed(cased: str) -> list[tuple[int, int]]:
    """The spans ``_SQUEEZE`` matches in ``cased``."""
    try:
        data = cased.encode("cp1256")
    except UnicodeEncodeError:
        return [m.span() for m in _SQUEEZE.finditer(cased)]
    marks = []
    for byte in set(data.translate(None, _NOT_MARK_BYTES)):
        i = data.find(byte)
        while i != -1:
            marks.append(i)
            i = data.find(byte, i + 1)
    runs: list[tuple[int, int]] = []
    n = len(cased)
    for i in sorted(marks):  # each mark's run of spaces and marks, once
        if runs and i < runs[-1][1]:
            continue
        a, b = i, i + 1
        while a and cased[a - 1] == " ":
            a -= 1
        while b < n and cased[b] in _SPACE_OR_MARK:
            b += 1
        runs.append((a, b))
    if "  " in cased:  # and the runs of spaces alone
        starts = [a for a, _ in runs]
        for m in _SPACE_RUN.finditer(cased):
            k = bisect_right(starts, m.start()) - 1
            if k < 0 or runs[k][1] < m.end():
                runs.append(m.span())
        runs.sort()
    return runs


@dataclass(frozen=True)
class Normalized:
    """Aligned ``cased`` and ``lower`` copies, and a piecewise map to original offsets.

    Segment k starts at normalized offset ``starts[k]`` and original offset
    ``origins[k]``; inside a segment offsets advance together.
    """

    original: str
    cased: str
    lower: str
    starts: tuple[int, ...] = (0,)
    origins: tuple[int, ...] = (0,)

    def to_original(self, i: int) -> int:
        if i >= len(self.cased):
            return len(self.original)
        k = bisect_right(self.starts, i) - 1
        return self.origins[k] + (i - self.starts[k])

    def to_normalized(self, j: int) -> int:
        """The first normalized offset whose original offset is at or after ``j``."""
        if len(self.starts) == 1:
            return min(j, len(self.cased))
        lo, hi = 0, len(self.cased)
        while lo < hi:
            mid = (lo + hi) // 2
            if self.to_original(mid) < j:
                lo = mid + 1
            else:
                hi = mid
        return lo


def normalize_term(term: str) -> str:
    """A term (alias, lexicon entry, query word) in the ``lower`` form, trimmed."""
    return normalize(term.strip()).lower.strip()


def normalize(text: str) -> Normalized:
    if unicodedata.is_normalized("NFKC", text):
        cased = _translate(text)
        lower = cased.lower()
        if len(lower) == len(cased):
            if not text.isascii() and _HAS_DROPPED.search(text):
                return _squeeze(text, cased, lower)
            if "  " not in cased:
                return Normalized(text, cased, lower)
            return _fold_spaces(text, cased, lower)
    return _slow(text)


def _fold_spaces(original: str, cased: str, lower: str) -> Normalized:
    starts, origins, parts_c, parts_l = [0], [0], [], []
    pos = removed = 0
    for m in _SPACE_RUN.finditer(cased):
        a, b = m.span()
        parts_c.append(cased[pos : a + 1])
        parts_l.append(lower[pos : a + 1])
        removed += b - a - 1
        pos = b
        starts.append(b - removed)
        origins.append(b)
    parts_c.append(cased[pos:])
    parts_l.append(lower[pos:])
    return Normalized(original, "".join(parts_c), "".join(parts_l), tuple(starts), tuple(origins))


def _squeeze(original: str, cased: str, lower: str) -> Normalized:
    """Drop the Arabic marks and fold space runs (``_SQUEEZE``), keeping the offset map."""
    starts, origins, parts_c, parts_l = [0], [0], [], []
    pos = removed = 0
    for a, b in _squeezed(cased):
        space = cased.find(" ", a, b)
        parts_c.append(cased[pos:a])
        parts_l.append(lower[pos:a])
        if space != -1:
            starts.append(a - removed)
            origins.append(space)
            parts_c.append(" ")
            parts_l.append(" ")
            removed += b - a - 1
        else:
            removed += b - a
        pos = b
        starts.append(b - removed)
        origins.append(b)
    parts_c.append(cased[pos:])
    parts_l.append(lower[pos:])
    return Normalized(original, "".join(parts_c), "".join(parts_l), tuple(starts), tuple(origins))


def _slow(text: str) -> Normalized:
    """Character by character: NFKC per combining cluster, case per character."""
    cased: list[str] = []
    lower: list[str] = []
    origins: list[int] = []
    i, n = 0, len(text)
    while i < n:
        j = i + 1
        while j < n and unicodedata.combining(text[j]):
            j += 1
        for ch in unicodedata.normalize("NFKC", text[i:j]).translate(_SLOW_TABLE):
            if ch == " " and cased and cased[-1] == " ":
                continue
            low = ch.lower()
            cased.append(ch)
            lower.append(low if len(low) == 1 else ch)
            origins.append(i)
        i = j
    return Normalized(text, "".join(cased), "".join(lower), tuple(range(len(cased))), tuple(origins))
