"""Sentence segmentation that survives news prose: "U.S.", "Dr.", "Jan.", initials, quotes.

Arabic (docs/arabic.md): no letter case, so a sentence end is ``.``, ``!``, ``?`` or ``؟``
followed by a space and any Arabic letter; ``؛`` and ``،`` end none (as ``;`` and ``,``).
A single Arabic letter before a dot is an abbreviation (``د.`` doctor, ``م.`` AD)."""

from __future__ import annotations

import re

from extractors.arabic import is_arabic_letter

_CLOSE = "\"')]\u201d\u2019"
_OPEN = "\"'(\\[\u201c\u2018"
# Sentence-final punctuation and closing quotes, then space (not a newline) and what can start a
# sentence; group 1 ends where the next sentence starts. (Spelled "[.!?][.!?]*", not "[.!?]+": a
# pattern that opens on a bare character class lets the regex engine skip to candidates.)
_ARABIC_LETTERS = "\u0620-\u064a\u066e-\u06d3\u06fa-\u06ff"
_END = re.compile(
    rf"[.!?\u061f][.!?\u061f]*[{re.escape(_CLOSE)}]*(?=([^\S\n]+)[{re.escape(_OPEN)}]*[A-Z0-9{_ARABIC_LETTERS}])"
)
_ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof gen col lt maj capt sgt cpl adm gov sen rep st jr sr rev hon pres
    jan feb mar apr jun jul aug sep sept oct nov dec vs etc al fig approx est dept inc ltd co corp""".split()
)
_DOTTED = re.compile(r"^(?:[A-Za-z]\.){2,}$")  # U.S. U.N. U.K. e.g. i.e.
_TOKEN = re.compile(r"\S*")
# After a dotted abbreviation a sentence ends only if one of these starts the next.
_STARTERS = frozenset(
    "The A An It He She They We I This That These Those But And However In On At If When While According Its Their His Her".split()
)


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """The sentences of ``text[start:end]`` as (start, end) spans of ``text``, trimmed of spaces.

    Newlines always end a sentence. One regex pass finds every candidate end of the
    whole range; a sentence between two accepted ends needs no trimming, as the regex
    says where the next one starts."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    begin = line = start
    nl = text.find("\n", start, end)
    for m in _END.finditer(text, start, end):
        dot, after = m.span()
        while nl != -1 and nl < dot:
            spans.append(_trim(text, begin, nl))
            begin = line = nl + 1
            nl = text.find("\n", begin, end)
        if text[dot] == "." and not _ends_sentence(text, line, dot, m.end(1), end):
            continue
        spans.append(_trim(text, begin, after) if begin == line else (begin, after))
        begin = m.end(1)
    while nl != -1:
        spans.append(_trim(text, begin, nl))
        begin = nl + 1
        nl = text.find("\n", begin, end)
    spans.append(_trim(text, begin, end))
    return [s for s in spans if s[0] < s[1]]


def _ends_sentence(text: str, line: int, dot: int, following: int, end: int) -> bool:
    """Whether the dot at ``dot`` ends a sentence: the word before it (which starts no earlier
    than ``line``) is no abbreviation, initial or dotted abbreviation. ``following`` is where the
    next word starts. Each look is bounded by a word, so a long line costs linear time."""
    # The common case first: the last word of the 8 characters before the dot is an ordinary one.
    # (An abbreviation is shorter than 8, so it would be that whole word; so would an initial; and a
    # dotted one would show its inner dot.)
    words = text[max(line, dot - 8) : dot].rsplit(None, 1)
    if words:
        tail = words[-1].lstrip(_OPEN)
        if len(tail) >= 2 and tail[-2] != "." and tail.lower() not in _ABBREVIATIONS:
            return True
    start = dot
    while start > line and not text[start - 1].isspace():
        start -= 1
    word = text[start : dot + 1].lstrip(_OPEN)
    bare = word[:-1]
    if bare.lower() in _ABBREVIATIONS:
        return False
    if len(bare) == 1 and (bare.isupper() or is_arabic_letter(bare)):  # an initial: "Qais K. Khazali", "د. علي"
        return False
    if _DOTTED.match(word):
        return _TOKEN.match(text, following, end).group().strip(_OPEN) in _STARTERS
    return True


def _trim(text: str, a: int, b: int) -> tuple[int, int]:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return a, b
