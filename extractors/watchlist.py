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
- ``rules[].lang``: the article languages (``[ar]``, ``[en, ar]``) a rule applies
  to; omitted, it applies to every article (docs/arabic.md).
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, StringConstraints

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


def parse_duration(value: Any) -> Any:
    """``90s``, ``30m``, ``2h``, ``1d`` as a timedelta; other values pass through."""
    if isinstance(value, str):
        m = _DURATION.match(value)
        if not m:
            raise ValueError("a duration is a number and a unit: 90s, 30m, 2h, 1d")
        return timedelta(seconds=int(m[1]) * _UNITS[m[2]])
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


class Rule(_Model):
    id: Id
    title: str
    severity: Severity
    scope: Literal["sentence", "paragraph", "article"] = "sentence"
    query: str
    notify: list[str] | None = None
    cooldown: Duration | None = None
    lang: list[Language] | None = Field(default=None, min_length=1)


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

    def channels_for(self, rule: Rule) -> list[str]:
        """The channels a rule's alerts go to: its ``notify``, else every channel."""
        return list(rule.notify) if rule.notify is not None else list(self.channels)


def load_watchlist(path: str | Path) -> Watchlist:
    doc = read_yaml(path)
    errors = _expand_channels(doc) + _query_errors(doc)
    try:
        watchlist = validate(doc, Watchlist, secret=("channels",))
    except ConfigError as exc:
        raise ConfigError(errors + exc.errors) from None
    errors += _cross_check(doc, watchlist)
    if errors:
        raise ConfigError(errors)
    return watchlist


def _expand_channels(doc: Document) -> list[str]:
    """Replace ``${VAR}`` in channel URLs from the environment; name unset variables, never values."""
    channels = doc.data.get("channels") if isinstance(doc.data, dict) else None
    if not isinstance(channels, dict):
        return []
    errors = []
    for name, url in channels.items():
        if not isinstance(url, str):
            continue
        for var in _VAR.findall(url):
            if var not in os.environ:
                errors.append(doc.error(["channels", name], f"channel {name!r}: environment variable {var} is not set"))
        channels[name] = _VAR.sub(lambda m: os.environ.get(m[1], ""), url)
    return errors


def _cross_check(doc: Document, wl: Watchlist) -> list[str]:
    errors: list[str] = []
    err = lambda loc, msg: errors.append(doc.error(loc, msg))  # noqa: E731

    actor_ids: dict[str, int] = {}
    for i, a in enumerate(wl.actors):
        if a.id in actor_ids:
            err(["actors", i, "id"], f"duplicate actor id {a.id!r}")
        actor_ids.setdefault(a.id, i)
    kinds = {a.kind for a in wl.actors}
    for i, a in enumerate(wl.actors):
        for j, parent in enumerate(a.member_of):
            if parent not in actor_ids:
                err(["actors", i, "member_of", j], f"member_of names no actor: {parent!r}")
        for field in ("aliases", "exact"):
            for j, alias in enumerate(getattr(a, field)):
                _check_term(err, ["actors", i, field, j], alias)
        if not a.aliases and not a.exact and not a.name.strip():
            err(["actors", i], f"actor {a.id!r} has no name or alias to match")
    for cycle_actor in _cycles(wl.actors):
        err(["actors", actor_ids[cycle_actor], "member_of"], f"member_of forms a cycle through {cycle_actor!r}")
    for name, terms in wl.lexicons.items():
        for j, term in enumerate(terms):
            _check_term(err, ["lexicons", name, j], term)

    rule_ids: set[str] = set()
    for i, r in enumerate(wl.rules):
        if r.id in rule_ids:
            err(["rules", i, "id"], f"duplicate rule id {r.id!r}")
        rule_ids.add(r.id)
        for j, channel in enumerate(r.notify or ()):
            if channel not in wl.channels:
                err(["rules", i, "notify", j], f"notify names no channel: {channel!r}")
        try:
            tree = q.parse(r.query)
        except q.QueryError:
            continue  # reported by _query_errors
        for node in q.walk(tree):
            if isinstance(node, q.Ref):
                known = {"actor": actor_ids, "kind": kinds, "lexicon": wl.lexicons}[node.field]
                if node.name not in known:
                    err(["rules", i, "query"], f"query refers to no {node.field}: '{node.field}:{node.name}'")
            elif isinstance(node, q.Term):
                _check_term(err, ["rules", i, "query"], node.text)
    return errors


def _query_errors(doc: Document) -> list[str]:
    """Queries that do not parse, found on the raw data so they are listed with any other error."""
    rules = doc.data.get("rules") if isinstance(doc.data, dict) else None
    errors = []
    for i, rule in enumerate(rules if isinstance(rules, list) else []):
        query = rule.get("query") if isinstance(rule, dict) else None
        if isinstance(query, str):
            try:
                q.parse(query)
            except q.QueryError as exc:
                errors.append(doc.error(["rules", i, "query"], f"query does not parse: {exc.message} at column {exc.column}: {query!r}"))
    return errors


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
