"""The watch list (spec §1): model, loader and cross-checks.

A watch list is loaded completely or not at all: ``load_watchlist`` raises
``ConfigError`` listing every problem as ``FILE:LINE: message``.

Extensions to the spec, all optional:

- ``rules[].cooldown``: at most one page per rule and actor within this window
  (``30m``, ``2h``, ``1d``); the rest are held for the digest.
- ``delivery``: ``digest`` (severities sent as a periodic digest instead of a
  page, default ``[info, low]``), ``digest_every`` (default ``1h``),
  ``cooldown`` (the default for every rule), ``rate_limit`` (pages per channel
  per hour; the rest are held for the digest).
- a channel may be ``{prefect_secret: BLOCK}``: the apprise URL is read from
  that Prefect Secret block when an alert is delivered.
- the rule-language extensions of docs/rule-language.md: ``actors[].short``,
  ``matching.acronyms``, ``rules[].unless`` and ``rules[].examples``.
- ``rules[].lang``: the article languages (``[ar]``, ``[en, ar]``) a rule applies
  to; omitted, it applies to every article (docs/arabic.md).
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple
from urllib.parse import quote

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, StringConstraints, ValidationError

from extractors import query as q
from extractors.config import ConfigError, Document, read_yaml, validate
from extractors.matcher import TermError, check_term

SEVERITIES = ("info", "low", "medium", "high", "critical")
Severity = Literal["info", "low", "medium", "high", "critical"]
Id = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*$")]
Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")]  # as detected: ar, en, und
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


MAX_DURATION = timedelta(days=366)


def parse_duration(value: Any) -> Any:
    """``90s``, ``30m``, ``2h``, ``1d`` as a timedelta; other values pass through."""
    if isinstance(value, str):
        m = _DURATION.match(value)
        if not m:
            raise ValueError("a duration is a number and a unit: 90s, 30m, 2h, 1d")
        seconds = int(m[1]) * _UNITS[m[2]]
        if seconds > MAX_DURATION.total_seconds():
            raise ValueError(f"a duration may be at most {MAX_DURATION.days} days")
        return timedelta(seconds=seconds)
    return value


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Actor(_Model):
    id: Id
    name: str
    kind: str = Field(min_length=1)
    aliases: list[str] = Field(default_factory=list)  # a factory, not a default that pydantic deep-copies per actor
    exact: list[str] = Field(default_factory=list)
    member_of: list[str] = Field(default_factory=list)
    short: list[str] = Field(default_factory=list)  # count only after a full mention (docs/rule-language.md)


class Examples(_Model):
    """Short texts a rule must fire on, and must stay silent on (``tocsin check`` runs them)."""

    fire: list[str] = Field(default_factory=list)
    silent: list[str] = Field(default_factory=list)


class Rule(_Model):
    id: Id
    title: str
    severity: Severity
    scope: Literal["sentence", "paragraph", "article"] = "sentence"
    query: str
    notify: list[str] | None = None
    cooldown: Duration | None = None
    unless: str | None = None  # a query; no sentence where it matches counts towards the rule
    examples: Examples | None = None
    lang: list[Language] | None = Field(default=None, min_length=1)


class Matching(_Model):
    """Context matching switches (docs/rule-language.md)."""

    acronyms: bool = False  # "Full Name (ACR)" makes ACR an alias for the rest of the article


class PrefectSecret(_Model):
    prefect_secret: str


class Delivery(_Model):
    digest: list[Severity] = ["info", "low"]
    digest_every: Duration = timedelta(hours=1)
    cooldown: Duration | None = None
    rate_limit: int | None = Field(default=None, gt=0)


class Watchlist(_Model):
    version: Literal[1]
    actors: list[Actor] = []
    lexicons: dict[str, list[str]] = {}
    rules: list[Rule] = []
    channels: dict[str, SecretStr | PrefectSecret] = {}
    delivery: Delivery = Delivery()
    matching: Matching = Matching()

    def channels_for(self, rule: Rule) -> list[str]:
        """The channels a rule's alerts go to: its ``notify``, else every channel."""
        return list(rule.notify) if rule.notify is not None else list(self.channels)


def load_watchlist(path: str | Path) -> Watchlist:
    doc = read_yaml(path)
    errors = _expand_channels(doc)
    try:
        watchlist = validate(doc, Watchlist, secret=("channels",))
    except ConfigError as exc:
        parts = _Parts.of_raw(doc)
        errors += exc.errors + _cross_check(doc, parts) + _query_errors(doc, parts)
        raise ConfigError(sorted(errors, key=_line)) from None
    parts = _Parts.of(watchlist)
    errors += _cross_check(doc, parts) + _query_errors(doc, parts)
    if errors:
        raise ConfigError(sorted(errors, key=_line))
    return watchlist


def _line(error: str) -> int:
    """The line number of a ``FILE:LINE: message`` error, to list errors in file order."""
    m = re.search(r":(\d+): ", error)
    return int(m[1]) if m else 0


class _Parts(NamedTuple):
    """What the cross-checks look at: the actors and rules that validate (with their index
    in the file) and the names that references may name."""

    actors: list[tuple[int, Actor]]
    lexicons: dict[str, list[str]]
    rules: list[tuple[int, Rule]]
    actor_ids: set[str]
    kinds: set[str]
    channels: set[str]

    @classmethod
    def of(cls, wl: Watchlist) -> "_Parts":
        return cls(list(enumerate(wl.actors)), wl.lexicons, list(enumerate(wl.rules)),
                   {a.id for a in wl.actors}, {a.kind for a in wl.actors}, set(wl.channels))

    @classmethod
    def of_raw(cls, doc: Document) -> "_Parts":
        """From a file that does not validate as a whole: every actor and rule that validates
        alone is still checked, so one mistake hides no other."""
        data = doc.data if isinstance(doc.data, dict) else {}

        def items(key: str) -> list[Any]:
            value = data.get(key)
            return value if isinstance(value, list) else []

        def valid(model: type[_Model], key: str) -> list[tuple[int, Any]]:
            out = []
            for i, item in enumerate(items(key)):
                try:
                    out.append((i, model.model_validate(item)))
                except ValidationError:
                    pass
            return out

        def names(key: str) -> dict[Any, Any]:
            value = data.get(key)
            return value if isinstance(value, dict) else {}

        raw_actors = [a for a in items("actors") if isinstance(a, dict)]
        lexicons = {k: [t for t in v if isinstance(t, str)] if isinstance(v, list) else [] for k, v in names("lexicons").items()}
        return cls(valid(Actor, "actors"), lexicons, valid(Rule, "rules"),
                   {str(a.get("id")) for a in raw_actors}, {str(a.get("kind")) for a in raw_actors}, set(names("channels")))


def _expand_channels(doc: Document) -> list[str]:
    """Replace ``${VAR}`` in channel URLs from the environment; name unset variables, never values."""
    channels = doc.data.get("channels") if isinstance(doc.data, dict) else None
    if not isinstance(channels, dict):
        return []
    errors = []
    for name, url in channels.items():
        if not isinstance(url, (str, dict)):
            errors.append(doc.error(["channels", name], f"channel {name!r}: an apprise URL or {{prefect_secret: NAME}}, not {'nothing' if url is None else type(url).__name__}"))
            channels[name] = ""  # reported: no second, longer message from the model
            continue
        if not isinstance(url, str):
            continue
        for var in _VAR.findall(url):
            if var not in os.environ:
                errors.append(doc.error(["channels", name], f"channel {name!r}: environment variable {var} is not set"))
        channels[name] = _expand(url)
    return errors


def _expand(url: str) -> str:
    """``${VAR}`` replaced from the environment. A variable in the user:password part or the
    query of a URL (a password, a token) is percent-encoded there, so ``@ / : # ? &`` in its
    value cannot change how the URL parses; elsewhere (a whole URL, a host, a path) it is used as is."""
    scheme_end = url.find("://")
    authority_end = min((i for i in (url.find("/", scheme_end + 3), url.find("?", scheme_end + 3)) if i >= 0), default=len(url))
    userinfo_end = url.rfind("@", 0, authority_end) if scheme_end >= 0 else -1
    query_start = url.find("?", scheme_end + 3) if scheme_end >= 0 else -1

    def value(m: re.Match[str]) -> str:
        raw = os.environ.get(m[1], "")
        in_userinfo = scheme_end + 3 <= m.start() < userinfo_end
        return quote(raw, safe="") if in_userinfo or 0 <= query_start < m.start() else raw

    return _VAR.sub(value, url)


def _cross_check(doc: Document, wl: _Parts) -> list[str]:
    errors: list[str] = []
    err = lambda loc, msg: errors.append(doc.error(loc, msg))  # noqa: E731

    seen_ids: set[str] = set()
    for i, a in wl.actors:
        if a.id in seen_ids:
            err(["actors", i, "id"], f"duplicate actor id {a.id!r}")
        seen_ids.add(a.id)
    for i, a in wl.actors:
        for j, parent in enumerate(a.member_of):
            if parent not in wl.actor_ids:
                err(["actors", i, "member_of", j], f"member_of names no actor: {parent!r}{_did_you_mean(parent, wl.actor_ids)}")
        for field in ("aliases", "exact", "short"):
            for j, alias in enumerate(getattr(a, field)):
                _check_term(err, ["actors", i, field, j], alias)
        if not a.aliases and not a.exact and not a.name.strip():
            err(["actors", i], f"actor {a.id!r} has no name or alias to match")
    first_index = {}
    for i, a in wl.actors:
        first_index.setdefault(a.id, i)
    for cycle_actor in _cycles([a for _, a in wl.actors]):
        err(["actors", first_index[cycle_actor], "member_of"], f"member_of forms a cycle through {cycle_actor!r}")
    for name, terms in wl.lexicons.items():
        for j, term in enumerate(terms):
            _check_term(err, ["lexicons", name, j], term)

    rule_ids: set[str] = set()
    for i, r in wl.rules:
        if r.id in rule_ids:
            err(["rules", i, "id"], f"duplicate rule id {r.id!r}")
        rule_ids.add(r.id)
        for j, channel in enumerate(r.notify or ()):
            if channel not in wl.channels:
                err(["rules", i, "notify", j], f"notify names no channel: {channel!r}")
    return errors


_QUERY_KEYS = ("query", "unless")


def _query_errors(doc: Document, wl: _Parts) -> list[str]:
    """Queries (``query``, ``unless``) that do not parse or refer to nothing, checked on the raw
    data so that a rule with another mistake still has its queries checked."""
    rules = doc.data.get("rules") if isinstance(doc.data, dict) else None
    errors: list[str] = []
    err = lambda loc, msg: errors.append(doc.error(loc, msg))  # noqa: E731
    for i, rule in enumerate(rules if isinstance(rules, list) else []):
        for key in _QUERY_KEYS:
            query = rule.get(key) if isinstance(rule, dict) else None
            if not isinstance(query, str):
                continue
            try:
                tree = q.parse(query)
            except q.QueryError as exc:
                err(["rules", i, key], f"{key} does not parse: {exc.message} at column {exc.column}: {query!r}")
                continue
            for node in q.walk(tree):
                if isinstance(node, q.Ref):
                    known = {"actor": wl.actor_ids, "kind": wl.kinds, "lexicon": wl.lexicons}[node.field]
                    if node.name not in known:
                        hint = _did_you_mean(node.name, known, f"{node.field}:")
                        err(["rules", i, key], f"{key} refers to no {node.field}: '{node.field}:{node.name}'{hint}")
                elif isinstance(node, q.Term):
                    _check_term(err, ["rules", i, key], node.text)
    return errors


def _did_you_mean(name: str, known: Iterable[str], prefix: str = "") -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1)
    return f" (did you mean '{prefix}{close[0]}'?)" if close else ""


def _check_term(err: Any, loc: list[Any], term: str) -> None:
    try:
        check_term(term)
    except TermError as exc:
        err(loc, str(exc))


def _cycles(actors: list[Actor]) -> list[str]:
    """One actor of each ``member_of`` cycle."""
    parents = {a.id: a.member_of for a in actors}
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    found: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        for p in parents.get(node, ()):
            if state.get(p) == 1:
                found.append(p)
            elif p in parents and p not in state:
                visit(p)
        state[node] = 2

    for a in actors:
        if a.id not in state:
            visit(a.id)
    return found
