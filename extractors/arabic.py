"""Arabic proclitics: which prefixes a watched name or term may carry (docs/arabic.md).

Before the first word of an alias or term that starts with an Arabic letter, the text
may add: a conjunction (و or ف), then a preposition (ب, ك or ل). Before a word that
starts with the article ال, the preposition ل contracts with it to لل (للحشد = ل + الحشد).
Nothing else is stripped: not the article itself (حماس does not match الحماس), not a
suffix (حزبي is not حزب), and nothing before a later word of the alias.

All strings here are in the matching normal form (extractors/normalize.py).
"""

from __future__ import annotations

ARTICLE = "\u0627\u0644"  # ال
LAM = "\u0644"  # ل
_CONJUNCTIONS = ("", "\u0648", "\u0641")  # "", و, ف
_PREPOSITIONS = ("", "\u0628", "\u0643", LAM)  # "", ب, ك, ل
LONGEST = 2  # characters of the longest prefix
PROCLITIC_LETTERS = frozenset("".join(_CONJUNCTIONS + _PREPOSITIONS))  # what a prefix ends with


def is_arabic_letter(ch: str) -> bool:
    return "\u0620" <= ch <= "\u064a" or "\u066e" <= ch <= "\u06d3" or "\u06fa" <= ch <= "\u06ff"


def proclitic_forms(literal: str) -> list[tuple[str, frozenset[str]]]:
    """The literals a term's hit may begin with, each with the prefixes allowed before it
    inside the same word ("" = none). Empty for a term that does not start with an Arabic letter.

    A literal starting with ال gives two: itself (after و ف ب ك and their pairs), and its
    form after the contraction ل + ال = لل, i.e. ``ل`` + the rest (after ل, ول, فل)."""
    if not literal or not is_arabic_letter(literal[0]):
        return []
    if not literal.startswith(ARTICLE):
        return [(literal, frozenset(c + p for c in _CONJUNCTIONS for p in _PREPOSITIONS))]
    return [
        (literal, frozenset(c + p for c in _CONJUNCTIONS for p in _PREPOSITIONS if p != LAM)),
        (LAM + literal[len(ARTICLE):], frozenset(c + LAM for c in _CONJUNCTIONS)),
    ]


def clitic_start(text: str, start: int, allowed: frozenset[str]) -> int | None:
    """Where the word holding ``text[start:]`` begins, if what precedes ``start`` in that word
    is one of the ``allowed`` prefixes; else None."""
    begin = start
    while begin > 0 and text[begin - 1].isalnum() and start - begin < LONGEST:
        begin -= 1
    if begin > 0 and text[begin - 1].isalnum():
        return None
    return begin if text[begin:start] in allowed else None
