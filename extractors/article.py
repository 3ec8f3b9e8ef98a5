"""The article: what every parser produces and every scanner consumes."""

from __future__ import annotations

from datetime import datetime
from functools import cached_property

from pydantic import BaseModel, ConfigDict, Field

from extractors.language import detect_language


class Article(BaseModel):
    """One news article, as parsed from a seed file, an HTML page or a feed entry.

    Offsets reported by the scanner index ``text``: the title, then each body
    paragraph, joined by single newlines. The title is its own paragraph.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    title: str
    paragraphs: list[str] = Field(default_factory=list)
    source: str | None = None
    published: datetime | None = None
    author: str | None = None  # as the page names it (HTML pages only)
    language: str | None = None  # the primary language subtag the page declares ("en"), not detected
    url: str | None = None
    path: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)

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
