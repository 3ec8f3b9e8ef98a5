"""The language of an article, from the script of its letters (docs/arabic.md).

tocsin reads English and Arabic: text whose letters are mostly Arabic script is
``ar``, other text with letters is ``en`` (Latin script is taken as English, the
language of the other feeds), text with no letter at all is ``und``. A script count
is enough to tell these apart, costs a regular-expression pass only over text that
holds some Arabic, and needs no model.
"""

from __future__ import annotations

import re

ARABIC, ENGLISH, UNDETERMINED = "ar", "en", "und"
_ARABIC_LETTER = re.compile("[\u0620-\u064a\u066e-\u06d3\u06fa-\u06ff\ufb50-\ufdff\ufe70-\ufefc]")
_LATIN_LETTER = re.compile("[A-Za-z\u00c0-\u024f]")


# Counting is done on bytes, at C speed: ASCII letters in the ASCII bytes of the text, Arabic
# letters in its Arabic code page (cp1256) bytes; the rare letters cp1256 lacks are not counted.
_NOT_ASCII_LETTER = bytes(b for b in range(256) if not bytes([b]).isalpha())
_NOT_ARABIC_LETTER = bytes(b for b in range(256) if not _ARABIC_LETTER.match(bytes([b]).decode("cp1256", "replace")))


def detect_language(text: str) -> str:
    if text.isascii() or not _ARABIC_LETTER.search(text):
        return ENGLISH if _LATIN_LETTER.search(text) else UNDETERMINED
    latin = len(text.encode("ascii", "ignore").translate(None, _NOT_ASCII_LETTER))
    arabic = len(text.encode("cp1256", "ignore").translate(None, _NOT_ARABIC_LETTER))
    return ARABIC if arabic >= latin else ENGLISH
