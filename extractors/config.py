"""YAML configuration files into pydantic models, with every error as ``FILE:LINE: message``.

The YAML is composed into nodes first, so every value keeps the line it came
from; pydantic's error locations are then walked back to those nodes.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when installed: 10x faster


class ConfigError(ValueError):
    """A configuration file that cannot be used; ``errors`` has one line per problem."""

    def __init__(self, errors: Sequence[str]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(self.errors))


class Document:
    """A parsed YAML file: its data, and the line of any value by its path."""

    def __init__(self, path: str | Path, node: yaml.Node) -> None:
        self.path = str(path)
        self.node = node
        self.data = _to_python(node, self.path)

    def line(self, loc: Sequence[str | int]) -> int:
        """The 1-based line of the value at ``loc`` (or of its nearest ancestor that exists)."""
        node = self.node
        for key in loc:
            child = None
            if isinstance(node, yaml.MappingNode):
                for k, v in node.value:
                    if k.value == key:
                        child = v
                        break
                if child is None:  # an unknown key: point at the key itself
                    return node.start_mark.line + 1
            elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
                child = node.value[key]
            if child is None:
                break
            node = child
        return node.start_mark.line + 1

    def key_line(self, loc: Sequence[str | int]) -> int:
        """The line of the key ``loc[-1]`` inside the mapping at ``loc[:-1]``."""
        parent = self.node
        for key in loc[:-1]:
            parent = _child(parent, key) or parent
        if isinstance(parent, yaml.MappingNode):
            for k, _ in parent.value:
                if k.value == loc[-1]:
                    return k.start_mark.line + 1
        return self.line(loc)

    def error(self, loc: Sequence[str | int], message: str) -> str:
        return f"{self.path}:{self.line(loc)}: {message}"


def read_yaml(path: str | Path) -> Document:
    """Read and compose a YAML file; raise ``ConfigError`` for anything but a mapping of data."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ConfigError([f"{p}: no such file"]) from None
    except OSError as exc:
        raise ConfigError([f"{p}: cannot read: {exc.strerror}"]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{p}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})"]) from None
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = _yaml_error_mark(exc)
        line = f":{mark.line + 1}" if mark else ""
        raise ConfigError([f"{p}{line}: invalid YAML: {exc.problem}"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"{p}: invalid YAML: {exc}"]) from None
    if node is None:
        raise ConfigError([f"{p}: the file is empty"])
    if not isinstance(node, yaml.MappingNode):
        raise ConfigError([f"{p}:{node.start_mark.line + 1}: the top level must be a mapping of keys to values"])
    return Document(p, node)


def _yaml_error_mark(exc: yaml.MarkedYAMLError) -> Any:
    """Where the mistake is. PyYAML notices a key with no ``:``, an unclosed quote or an
    unclosed ``[``/``{`` only on a later line; the line it started on is the one to fix."""
    context = exc.context or ""
    if exc.context_mark and context.startswith(("while scanning a", "while parsing a flow")):
        return exc.context_mark
    return exc.problem_mark


def validate(doc: Document, model: type[M], *, secret: tuple[str, ...] = ()) -> M:
    """Validate ``doc.data`` against ``model``; raise ``ConfigError`` listing every problem.

    Values under the top-level keys in ``secret`` are never quoted in a message."""
    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        raise ConfigError([_describe(doc, e, secret, model) for e in exc.errors()]) from None


def load_yaml_model(path: str | Path, model: type[M]) -> M:
    return validate(read_yaml(path), model)


def _describe(doc: Document, error: Any, secret: tuple[str, ...], model: type[BaseModel]) -> str:
    loc = [x for x in error["loc"] if not (isinstance(x, str) and x.startswith("function-"))]
    where = _dotted(loc[:-1]) if error["type"] == "extra_forbidden" else _dotted(loc)
    if error["type"] == "extra_forbidden":
        close = difflib.get_close_matches(str(loc[-1]), _keys_at(model, loc[:-1]), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"{doc.path}:{doc.key_line(loc)}: unknown key {loc[-1]!r}" + (f" in {where}" if where else "") + hint
    message = error["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    value = error.get("input")
    quotable = isinstance(value, (str, int, float)) and error["type"] != "missing" and not (loc and loc[0] in secret)
    shown = f": {value!r}" if quotable else ""
    prefix = f"{where}: " if where else ""
    return f"{doc.path}:{doc.line(loc)}: {prefix}{message}{shown}"


def _keys_at(model: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    """The keys allowed in the mapping at ``loc`` of ``model`` (for "did you mean")."""
    current: list[Any] = [model]
    for key in loc:
        inner = []
        for t in (a for c in current for a in _alternatives(c)):
            origin = typing.get_origin(t)
            if _is_model(t) and key in t.model_fields:
                inner.append(t.model_fields[key].annotation)
            elif origin is list and isinstance(key, int):
                inner.append(typing.get_args(t)[0])
            elif origin is dict and isinstance(key, str):
                inner.append(typing.get_args(t)[1])
        current = inner
    return [name for c in current for t in _alternatives(c) if _is_model(t) for name in t.model_fields]


def _alternatives(t: Any) -> list[Any]:
    """The types a value annotated ``t`` may have: ``A | B | None`` -> [A, B, None]."""
    origin = typing.get_origin(t)
    if origin is typing.Annotated:
        return _alternatives(typing.get_args(t)[0])
    if origin in (typing.Union, types.UnionType):
        return [a for arg in typing.get_args(t) for a in _alternatives(arg)]
    return [t]


def _is_model(t: Any) -> bool:
    return isinstance(t, type) and issubclass(t, BaseModel)


def _dotted(loc: Sequence[str | int]) -> str:
    out = ""
    for x in loc:
        out += f"[{x}]" if isinstance(x, int) else (f".{x}" if out else str(x))
    return out


def _child(node: yaml.Node, key: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        return next((v for k, v in node.value if k.value == key), None)
    if isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
        return node.value[key]
    return None


_STR, _SEQ, _MAP, _MERGE = (f"tag:yaml.org,2002:{t}" for t in ("str", "seq", "map", "merge"))
MAX_VALUES = 1_000_000  # values in a file once its aliases are expanded: a 300-byte alias bomb has billions


def _to_python(root: yaml.Node, path: str) -> Any:
    """Plain data from composed YAML; raises ``ConfigError`` listing every duplicate key and any
    value that cannot be data (an alias inside itself, a list as a key, bad base64 or dates).

    Strings, lists and mappings are built here, ten times faster than PyYAML's constructor,
    which still builds every other value (numbers, dates, merge keys)."""
    constructor = yaml.SafeLoader("")
    inside: set[int] = set()  # the nodes being built, to catch an alias that refers to itself
    duplicates: list[str] = []
    built = 0

    def fail(node: yaml.Node, message: str) -> ConfigError:
        return ConfigError([f"{path}:{node.start_mark.line + 1}: {message}"])

    def build(node: yaml.Node) -> Any:
        nonlocal built
        built += 1
        if built > MAX_VALUES:
            raise fail(node, f"more than {MAX_VALUES:,} values once its aliases are expanded (an alias bomb?)")
        if node.tag == _STR:
            return node.value
        if id(node) in inside:
            raise fail(node, "a YAML alias refers to the value it is part of")
        inside.add(id(node))
        try:
            if node.tag == _SEQ:
                return [build(n) for n in node.value]
            if node.tag == _MAP and not any(k.tag == _MERGE for k, _ in node.value):
                data: dict[Any, Any] = {}
                for k, v in node.value:
                    key = build(k)
                    try:
                        if key in data:
                            duplicates.append(f"{path}:{k.start_mark.line + 1}: duplicate key {key!r}")
                    except TypeError:
                        raise fail(k, "a key must be a single value, not a list or a mapping") from None
                    data[key] = build(v)
                return data
            try:
                return constructor.construct_object(node, deep=True)
            except (yaml.YAMLError, ValueError, TypeError) as exc:
                problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
                raise fail(node, f"not a usable value: {problem}") from None
        finally:
            inside.discard(id(node))

    try:
        data = build(root)
    except RecursionError:
        raise ConfigError([f"{path}: nested too deeply"]) from None
    finally:
        constructor.dispose()
    if duplicates:
        raise ConfigError(duplicates)
    return data
