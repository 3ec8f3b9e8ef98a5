"""The seed article text format (spec §5)."""

from __future__ import annotations

import re

from extractors.article import Article
from extractors.errors import ArticleError

# "Shafaq News/ Iranian-backed forces…": a short outlet name, a slash, then a space (so "and/or" is no outlet).
# An Arabic outlet name ("شفق نيوز/ ") starts with an Arabic letter: Arabic has no capitals.
_OUTLET = re.compile(r"^(?P<outlet>[A-Z\u0621-\u064a][\w'&.\- ]{0,58}?)\s*/\s+(?=\S)")


def parse_seed(text: str, *, id: str, path: str | None = None) -> Article:
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        raise ArticleError("empty article")
    title, body = lines[0], lines[1:]
    metadata: dict[str, str] = {}
    if body and body[-1].startswith("Disclaimer:"):
        metadata["disclaimer"] = body.pop()
    source = None
    if body and (m := _OUTLET.match(body[0])):
        source = m["outlet"].strip()
        body[0] = body[0][m.end() :]
    return Article(id=id, title=title, paragraphs=body, source=source, path=path, metadata=metadata)
