"""Matching that reads the article around a mention (docs/rule-language.md).

- *Short forms*: an actor's ``short`` aliases ("Khazali") count only after a full mention
  of the same actor earlier in the article ("Qais al-Khazali"); in the headline, when the
  article mentions the actor in full anywhere.
- *Defined acronyms* (``matching.acronyms``): "Full Name (ACR)" right after an alias of an
  actor, ACR made of the alias's initials, makes ``ACR`` (case-sensitive) an alias of that
  actor from there to the end of the article, and in the headline.

Pure: actor hits in, actor hits out, in normalized offsets, sorted like the matcher's.
"""

from __future__ import annotations

import re

from extractors.matcher import WORD, Hit
from extractors.normalize import Normalized
from extractors.rules import ACTORS, ShortForm

# "(ACR)" right after an alias: 2 to 10 letters or digits, starting with a capital, with at
# least two capitals ("(IRCC)", "(KSS)", "(PMF)"; not "(Hezbollah)", not "(2024)").
_DEFINITION = re.compile(r" ?\((?=(?:[^A-Z)]*[A-Z]){2})([A-Z][A-Za-z0-9]{1,9})\)")


def read_context(hits: list[Hit], norm: Normalized, *, acronyms: bool) -> list[Hit]:
    """``hits`` with each short-form hit kept (labelled with its actor) or dropped, and, with
    ``acronyms``, a hit for each use of an acronym the article defines."""
    title_end = _title_end(norm.cased)
    first_full: dict[str, int] = {}
    for h in hits:
        if h.group == ACTORS and not isinstance(h.label, ShortForm):
            first_full.setdefault(h.label, h.start)  # type: ignore[arg-type]
    out: list[Hit] = []
    for h in hits:
        if isinstance(h.label, ShortForm):
            first = first_full.get(h.label.actor)
            if first is None or (h.start >= title_end and first > h.start):
                continue
            h = Hit(h.start, h.end, h.label.actor, h.group)
        out.append(h)
    if acronyms:
        out = _with_acronyms(out, norm.cased, title_end)
    return out


def _abbreviates(acronym: str, name: str) -> bool:
    """Whether the letters of ``acronym`` are initials of the words of ``name``, in order, the
    first one first (IRCC: Iraqi Resistance Coordination Committee; AAH: Asa'ib Ahl al-Haq).
    An alias that only ends a longer name defines nothing: "Democratic Party of Iran (KDPI)"."""
    initials = iter([w[0].lower() for w in WORD.findall(name)])
    letters = [c.lower() for c in acronym if c.isalpha()]
    return bool(letters) and next(initials, None) == letters[0] and all(c in initials for c in letters[1:])


def _title_end(text: str) -> int:
    end = text.find("\n")
    return len(text) if end == -1 else end


def _with_acronyms(hits: list[Hit], text: str, title_end: int) -> list[Hit]:
    actor_hits = [h for h in hits if h.group == ACTORS]
    defined: dict[str, tuple[str, int]] = {}  # acronym -> (actor, where its definition starts)
    for h in actor_hits:
        m = _DEFINITION.match(text, h.end)
        if m and m[1] not in defined and _abbreviates(m[1], text[h.start : h.end]):
            defined[m[1]] = (str(h.label), m.start(1))
    if not defined:
        return hits
    taken = [(h.start, h.end) for h in actor_hits]
    added = []
    for acronym, (actor, since) in defined.items():
        for m in re.finditer(rf"(?<![^\W_]){re.escape(acronym)}(?![^\W_])", text):
            if m.start() < since and m.start() >= title_end:
                continue
            if any(s < m.end() and m.start() < e for s, e in taken):
                continue  # already an alias of some actor
            added.append(Hit(m.start(), m.end(), actor, ACTORS))
    return sorted(hits + added, key=lambda h: (h.start, h.end)) if added else hits
