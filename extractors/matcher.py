"""Whole-word multi-pattern matching over normalized text (spec §3).

Every term (alias, lexicon entry, query word or phrase) is compiled to a
literal key: its normalized text up to the first ``*``. One Hyperscan pass
(a multi-literal engine, as Aho-Corasick but SIMD-fast) over the ``lower``
text finds every occurrence of every key; each raw hit is then kept
only if it starts and ends on word boundaries, satisfies its wildcard tail (a
regex anchored where the key ends) and, for exact-case aliases, has the right
case. Overlapping hits of one group are resolved longest first, then leftmost.

A term whose first word is Arabic may be preceded, inside that word, by a
proclitic (extractors/arabic.py): its key has no leading space, so Hyperscan
also finds it inside a word, and the check accepts the hit only where what
precedes it in the word is an allowed prefix. The hit then covers the whole word.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Hashable, Iterable, Sequence
from functools import lru_cache
from itertools import compress, islice, repeat
from operator import itemgetter, not_, sub
from typing import NamedTuple

import threading

import hyperscan

from extractors.arabic import PROCLITIC_LETTERS, clitic_start, proclitic_forms
from extractors.normalize import Normalized, normalize, normalize_term

# A word: letters and digits; an apostrophe between letters, a dot inside a
# dotted abbreviation (U.S.) and a comma inside a digit group (1,520) stay inside it.
WORD = re.compile(r"[^\W_]+(?:(?:(?<=[^\W\d_])'(?=[^\W\d_])|\.(?=[^\W_])|(?<=\d),(?=\d))[^\W_]+)*")
_CONTINUATION = r"[^\W_]*(?:(?:(?<=[^\W\d_])'(?=[^\W\d_])|\.(?=[^\W_])|(?<=\d),(?=\d))[^\W_]+)*"  # the rest of a WORD


class Hit(NamedTuple):
    """A kept match, in normalized offsets. ``label`` is what the caller attached to the term."""

    start: int
    end: int
    label: Hashable
    group: Hashable


class _Pattern(NamedTuple):
    key: str  # the haystack form: punctuation as spaces, between spaces (no trailing one if wild)
    literal: str  # the normalized text a hit must equal (up to any wildcard)
    tail: re.Pattern[str] | None
    exact: str | None
    multiword: bool
    label: Hashable
    group: Hashable
    clitics: frozenset[str] | None = None  # Arabic: the prefixes allowed before the literal, in its word


class TermError(ValueError):
    pass


class Matcher:
    """Compile once from ``(term, exact, label, group)`` tuples; then ``find`` per text.

    Hyperscan runs over a haystack copy of the ``lower`` text in which every
    character other than a letter or digit is a space, between two spaces; each
    key is framed by spaces too (a wildcard key has no trailing one). So a raw hit
    always starts at a word start and ends at a word end of the haystack.

    Most hits are of a plain term (one label, no wildcard, any case) standing between
    two spaces of the text itself; one C-level ``startswith`` per hit, mapped over all
    hits at once, proves those. Only the rest (punctuation next to the hit, possessives,
    wildcards, exact case, shared keys) pay for the checks in Python, one by one.

    Arabic text is scanned in the single-byte Arabic code page (cp1256) rather than in
    UTF-8, against a second database of the keys it can hold: a byte is then a character,
    so no offset needs converting, and the haystack is half as long. A watch list with no
    Arabic key has no such database; a text cp1256 cannot hold is scanned as UTF-8."""

    def __init__(self, terms: Iterable[tuple[str, bool, Hashable, Hashable]]) -> None:
        by_key: dict[str, set[_Pattern]] = {}
        for text, exact, label, group in terms:
            for pattern in _with_proclitics(compile_term(text, exact=exact, label=label, group=group)):
                by_key.setdefault(pattern.key, set()).add(pattern)
        keys = list(by_key)
        self._patterns = [tuple(by_key[k]) for k in keys]
        # An Arabic key has no leading space; counting one keeps every key's raw start where its literal starts.
        self._clitic = [not k.startswith(" ") for k in keys]
        # The text a plain key's hit must sit on, framed by spaces; a letter for other keys,
        # which never proves a hit (a raw hit starts on a non-alphanumeric character).
        self._plain = [f" {p[0].literal} " if _is_plain(p) else "a" for p in self._patterns]
        self._label = [p[0].label for p in self._patterns]
        self._group = [p[0].group for p in self._patterns]
        self._length = [len(k) + (not k.startswith(" ")) for k in keys]
        self._database = _compile(keys)
        self._arabic = _compile_single_byte(keys, self._patterns) if any(map(_ARABIC_LETTER.search, keys)) else None
        self._scratch = threading.local()  # Hyperscan's scratch space, one per thread and database

    def __getstate__(self) -> dict[str, object]:
        """Picklable (a compiled watch list may be sent to another process): the database travels serialized."""
        state = {k: v for k, v in self.__dict__.items() if k != "_scratch"}
        for name in ("_database", "_arabic"):
            state[name] = hyperscan.dumpb(state[name]) if state[name] is not None else None
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state, _scratch=threading.local())
        for name in ("_database", "_arabic"):
            data = state[name]
            setattr(self, name, hyperscan.loadb(data, hyperscan.HS_MODE_BLOCK) if data is not None else None)

    def find(self, norm: Normalized) -> list[Hit]:
        """Every boundary-valid hit, overlaps resolved within each group."""
        text, cased = norm.lower, norm.cased
        if text.isascii():
            keys, starts, ends = self._raw(self._database, f" {text} ".encode().translate(_ASCII_BOUNDARY_BYTES), unicode=False)
        elif self._arabic is not None and (haystack := _single_byte(f" {text} ")) is not None:
            keys, starts, ends = self._raw(self._arabic, haystack, unicode=False, variants=len(self._patterns))
        else:
            keys, starts, ends = self._raw(self._database, _NOT_ALNUM.sub(" ", f" {text} ").encode(), unicode=True)
        if not keys:
            return []
        proven = list(map(f" {text} ".startswith, map(self._plain.__getitem__, keys), starts))
        hits = list(map(tuple.__new__, repeat(Hit), zip(
            compress(starts, proven), map(sub, compress(ends, proven), repeat(2)),
            map(self._label.__getitem__, compress(keys, proven)), map(self._group.__getitem__, compress(keys, proven)),
        )))
        if len(hits) < len(keys):
            hits += self._checked(text, cased, compress(zip(keys, starts, ends), map(not_, proven)))
        return resolve_overlaps(hits)

    def _raw(
        self, database: hyperscan.Database | None, haystack: bytes, *, unicode: bool, variants: int = 0
    ) -> tuple[Sequence[int], Sequence[int], Sequence[int]]:
        """Key indexes, starts and ends of every occurrence of every key in ``haystack`` (UTF-8
        if ``unicode``, else one byte per character), in character offsets. With ``variants``
        (the number of keys), a database id is a key index plus a multiple of it."""
        if database is None:
            return (), (), ()
        found: list[tuple[int, int]] = []
        spaces = getattr(self._scratch, "spaces", None)
        if spaces is None:
            spaces = self._scratch.spaces = {}
        scratch = spaces.get(id(database))
        if scratch is None:
            scratch = spaces[id(database)] = hyperscan.Scratch(database)
        database.scan(haystack, match_event_handler=_collect, context=found, scratch=scratch)
        if not found:
            return (), (), ()
        keys, ends = zip(*found)
        if variants:
            keys = [k % variants for k in keys]
        if unicode:
            ends = _char_offsets(haystack, ends)
        return keys, list(map(sub, ends, map(self._length.__getitem__, keys))), ends

    def _checked(self, text: str, cased: str, raw: Iterable[tuple[int, int, int]]) -> list[Hit]:
        """The hits among ``raw`` (key index, haystack start, haystack end) that pass every check."""
        n = len(text)
        hits: list[Hit] = []
        for k, start, stop in raw:
            if start and text[start - 1] != " ":
                if self._clitic[k]:
                    if text[start - 1] not in PROCLITIC_LETTERS and text[start - 1].isalnum():  # inside a word
                        continue
                elif not _starts_word(text, start):
                    continue
            for _key, literal, tail, exact, multiword, label, group, clitics in self._patterns[k]:
                if not text.startswith(literal, start):
                    continue
                begin = start if clitics is None else clitic_start(text, start, clitics)
                if begin is None or (clitics is not None and begin and not _starts_word(text, begin)):
                    continue  # (an apostrophe between letters joins words: iran'حزب is one word)
                if tail is None:
                    end = stop - 2
                else:
                    m = tail.match(text, stop - 1)
                    if m is None:
                        continue
                    end = m.end()
                if end < n and text[end] != " " and not _ends_word(text, end):
                    continue
                if exact is not None and not cased.startswith(exact, start):
                    continue
                if multiword and "\n" in text[begin:end]:
                    continue
                hits.append(Hit(begin, end, label, group))
        return hits


def _compile_single_byte(keys: list[str], patterns: list[tuple[_Pattern, ...]]) -> hyperscan.Database | None:
    """The database for Arabic text in cp1256. A key without a leading space (an Arabic term) is
    entered here framed by a space where it may stand alone, and after each letter an allowed
    proclitic ends with (" " + key, "و" + key, "ل" + key …): a raw hit inside a word must then
    follow a proclitic letter, and few do; the checks read the rest of the prefix. Variant ``j``
    of key ``k`` has the id ``k + j * len(keys)``."""
    ids, expressions = [], []
    for k, key in enumerate(keys):
        allowed = patterns[k][0].clitics or frozenset([""])
        forms = [key] if key.startswith(" ") else [
            *([" " + key] if "" in allowed else []), *(last + key for last in sorted({p[-1] for p in allowed if p}))
        ]
        for j, form in enumerate(forms):
            try:
                expressions.append(form.encode(_SINGLE_BYTE))
            except UnicodeEncodeError:
                break  # a key cp1256 cannot hold cannot occur in a text it holds
            ids.append(k + j * len(keys))
    if not expressions:
        return None
    database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    database.compile(expressions=expressions, ids=ids, elements=len(ids), flags=0, literal=True)
    return database


def _compile(keys: list[str], encoding: str = "utf-8") -> hyperscan.Database | None:
    """A literal database of ``keys`` in ``encoding``; a key the encoding cannot hold is left out
    (it cannot occur in a text that the encoding holds)."""
    ids, expressions = [], []
    for i, k in enumerate(keys):
        try:
            expressions.append(k.encode(encoding))
        except UnicodeEncodeError:
            continue
        ids.append(i)
    if not expressions:
        return None
    database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    database.compile(expressions=expressions, ids=ids, elements=len(ids), flags=0, literal=True)
    return database


def _collect(key: int, _start: int, end: int, _flags: int, found: list[tuple[int, int]]) -> None:
    found.append((key, end))


def _char_offsets(data: bytes, ends: Iterable[int]) -> list[int]:
    """UTF-8 byte offsets (each on a character boundary, ascending) as character offsets."""
    out, byte, char = [], 0, 0
    for end in ends:
        char += len(data[byte:end].decode())
        byte = end
        out.append(char)
    return out


def _is_plain(patterns: tuple[_Pattern, ...]) -> bool:
    p = patterns[0]
    return len(patterns) == 1 and p.tail is None and p.exact is None and (p.clitics is None or "" in p.clitics)


def _with_proclitics(pattern: _Pattern) -> list[_Pattern]:
    """The pattern itself, or for an Arabic term its forms that may carry proclitics."""
    forms = proclitic_forms(pattern.literal)
    if not forms:
        return [pattern]
    out = []
    for literal, allowed in forms:
        key = literal.translate(_boundary_table(literal)) + ("" if pattern.tail else " ")
        cut = len(pattern.literal) - len(literal)  # characters of the article dropped by ل + ال
        exact = pattern.exact[cut:] if pattern.exact is not None else None
        out.append(pattern._replace(key=key, literal=literal, exact=exact, clitics=allowed))
    return out


_ASCII_BOUNDARY = str.maketrans({chr(c): " " for c in range(128) if not chr(c).isalnum()})
_ASCII_BOUNDARY_BYTES = bytes(c if chr(c).isalnum() else 32 for c in range(128)) + bytes(range(128, 256))


# The Arabic single-byte code page: ASCII, the Arabic letters (Persian ones too) and the common
# punctuation. Its bytes that are no letter or digit become spaces in a haystack.
_SINGLE_BYTE = "cp1256"
_SINGLE_BYTE_BOUNDARY = bytes(b if bytes([b]).decode(_SINGLE_BYTE, "replace").isalnum() else 32 for b in range(256))
_ARABIC_LETTER = re.compile("[\u0620-\u064a\u066e-\u06d3]")


def _single_byte(text: str) -> bytes | None:
    """The haystack of ``text`` in the single-byte code page, or None if it cannot hold the text."""
    try:
        return text.encode(_SINGLE_BYTE).translate(_SINGLE_BYTE_BOUNDARY)
    except UnicodeEncodeError:
        return None


# Every character but a letter, a digit or a space (``\w`` is ``str.isalnum`` plus "_"): one regex
# pass, where ``str.translate`` would look each non-ASCII character up in a table.
_NOT_ALNUM = re.compile(r"[^\w ]|_")


def _boundary_table(text: str) -> dict[int, str]:
    if text.isascii():
        return _ASCII_BOUNDARY
    extra = {ord(c): " " for c in set(text) if not c.isascii() and not c.isalnum()}
    return {**_ASCII_BOUNDARY, **extra} if extra else _ASCII_BOUNDARY


def compile_term(text: str, *, exact: bool = False, label: Hashable = None, group: Hashable = None) -> _Pattern:
    """One term as a literal key plus an optional tail regex for its wildcards."""
    key, literal, tail = _shape(text)
    return _Pattern(
        key=key,
        literal=literal,
        tail=tail,
        exact=normalize_cased(text) if exact and tail is None else None,
        multiword=" " in literal,
        label=label,
        group=group,
    )


MAX_TERM = 1000  # characters in one alias or term (Hyperscan's own limit is near 16,000)


def check_term(text: str) -> None:
    """Raise ``TermError`` if ``text`` cannot be a term (the watch list's loader reports it)."""
    if len(text) > MAX_TERM:
        raise TermError(f"a term may be at most {MAX_TERM:,} characters long, not {len(text):,}: {text[:40]!r}…")
    _shape(text)


@lru_cache(maxsize=65536)
def _shape(text: str) -> tuple[str, str, re.Pattern[str] | None]:
    """(literal key, literal prefix, wildcard tail regex) of a term; cached, as a watch list
    is validated and then compiled."""
    words = normalize_term(text).split(" ")
    if words[-1].endswith("'s") and "*" not in words[-1]:
        words[-1] = words[-1][:-2]
    if not words[0] or any(not w or ("*" in w[:-1]) for w in words):
        raise TermError(f"not a valid term: {text!r}")
    if words[0] == "*":
        raise TermError(f"a term cannot start with a wildcard: {text!r}")
    if not words[0][0].isalnum():
        raise TermError(f"a term must start with a letter or a digit: {text!r}")
    wild = next((i for i, w in enumerate(words) if w.endswith("*")), None)
    if wild is None:
        literal, tail = " ".join(words), None
    else:
        literal = " ".join([*words[:wild], words[wild][:-1]])
        rest = [re.escape(w[:-1]) + _CONTINUATION if w.endswith("*") else re.escape(w) for w in words[wild + 1 :]]
        tail = re.compile("".join([_CONTINUATION, *(" " + r for r in rest)]))
    return " " + literal.translate(_boundary_table(literal)) + ("" if tail else " "), literal, tail


def normalize_cased(text: str) -> str:
    cased = normalize(text.strip()).cased.strip()
    return cased[:-2] if cased.endswith("'s") else cased


def _starts_word(t: str, i: int) -> bool:
    if i == 0 or not t[i].isalnum():
        return True
    p = t[i - 1]
    if p.isalnum():
        return False
    if i >= 2 and p in "'.,":
        q = t[i - 2]
        if p == "'":
            return not (q.isalpha() and t[i].isalpha())
        if p == ".":
            return not q.isalnum()
        return not (q.isdigit() and t[i].isdigit())
    return True


def _ends_word(t: str, j: int, possessive: bool = True) -> bool:
    last, c = t[j - 1], t[j]
    if not last.isalnum():
        return not (last == "." and c.isalnum())
    if c.isalnum():
        return False
    if j + 1 < len(t) and c in "'.,":
        d = t[j + 1]
        if c == "'":
            if not (last.isalpha() and d.isalpha()):
                return True
            return possessive and d == "s" and (j + 2 == len(t) or _ends_word(t, j + 2, possessive=False))
        if c == ".":
            return not d.isalnum()
        return not (last.isdigit() and d.isdigit())
    return True


def resolve_overlaps(hits: list[Hit]) -> list[Hit]:
    """Within each group, keep the longest hits first, then the leftmost, with no overlap.

    Hits of one group on the same span with different labels (one alias shared by
    two actors) are all kept. Only runs of chained overlapping hits (of any group)
    need the greedy choice; most hits overlap nothing and pass straight through."""
    if len(hits) < 2:
        return hits
    hits.sort(key=_SPAN)
    out: list[Hit] = []
    # The current run: its first hit, its hits once a second one overlaps (None until then: most
    # hits overlap nothing, and build no list), and how far its hits reach.
    first, run, reach = hits[0], None, hits[0].end
    for hit in islice(hits, 1, None):
        if hit.start < reach:
            if run is None:
                run = [first, hit]
            else:
                run.append(hit)
            if hit.end > reach:
                reach = hit.end
            continue
        if run is None:
            out.append(first)
        else:
            out += _resolve_run(run)
            run = None
        first, reach = hit, hit.end
    if run is None:
        out.append(first)
    else:
        out += _resolve_run(run)
    return out


_SPAN = itemgetter(0, 1)


def _resolve_run(run: list[Hit]) -> list[Hit]:
    """The winners of a run of chained overlapping hits (sorted by start, then end)."""
    if len(run) == 2:  # the common case
        a, b = run
        if a.group != b.group or (a.start, a.end) == (b.start, b.end):
            return run
        return [a] if a.end - a.start >= b.end - b.start else [b]
    kept: dict[Hashable, tuple[list[int], list[int]]] = {}  # per group: starts and ends of kept spans, in order
    losers = set()
    for length, start, j in sorted((h.start - h.end, h.start, j) for j, h in enumerate(run)):
        end = start - length
        starts, ends = kept.setdefault(run[j].group, ([], []))
        k = bisect_left(starts, start)
        if k < len(starts) and (starts[k], ends[k]) == (start, end):
            continue  # the same span, for another label: kept too
        if (k and ends[k - 1] > start) or (k < len(starts) and starts[k] < end):
            losers.add(j)
        else:
            starts.insert(k, start)
            ends.insert(k, end)
    return [h for j, h in enumerate(run) if j not in losers]
