"""The article: what every parser produces and every scanner consumes.

Its text is cleaned once, here, whichever parser built it (``clean_text``): no store, channel
or terminal downstream ever sees NUL, a lone surrogate or another control character.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import cached_property
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

# C0 and C1 controls except tab and newline, DEL, and lone surrogates (which no encoder takes).
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def clean_text(value: str) -> str:
    """``value`` with each character that PostgreSQL (NUL), encoders (lone surrogates) or
    terminals (escape sequences) must never get replaced by a space; tab and newline are kept."""
    return _CONTROLS.sub(" ", value) if _CONTROLS.search(value) else value


Text = Annotated[str, AfterValidator(clean_text)]

from extractors.language import detect_language


class Article(BaseModel):
    """One news article, as parsed from a seed file, an HTML page or a feed entry.

    Offsets reported by the scanner index ``text``: the title, then each body
    paragraph, joined by single newlines. The title is its own paragraph.
    """

    model_config = ConfigDict(frozen=True)

    id: Text
    title: Text
    paragraphs: list[Text] = Field(default_factory=list)
    source: Text | None = None
    published: datetime | None = None
    author: Text | None = None  # as the page names it (HTML pages only)
    language: Text | None = None  # the primary language subtag the page declares ("en"), not detected
    url: Text | None = None
    path: Text | None = None
    metadata: dict[str, Text] = Field(default_factory=dict)

    @cached_property
    def text(self) -> str:
        return "\n".join([self.title, *self.paragraphs])

    @cached_property
    def detected_language(self) -> str:
        """``ar``, ``en`` or ``und``, detected from the scanned text (extractors/language.py); the
        page's declared ``language`` only when the text has no letters. This is what rules
        (``lang:``), the scan output, alerts and the store use."""
        found = detect_language(self.text)
        return self.language or found if found == "und" else found

    @property
    def headline(self) -> str:
        """The title shown to people: for an untitled feed entry, the label derived from its
        text (``metadata["label"]``), which is not scanned."""
        return self.title or self.metadata.get("label", "")

    @cached_property
    def paragraph_spans(self) -> list[tuple[int, int]]:
        """(start, end) of the title and of each body paragraph in ``text``."""
        spans: list[tuple[int, int]] = []
        pos = 0
        for part in (self.title, *self.paragraphs):
            spans.append((pos, pos + len(part)))
            pos += len(part) + 1
        return spans
