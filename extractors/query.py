"""The rule query language (spec §2): parser and syntax tree.

The tree is plain frozen dataclasses; evaluation lives in ``rules.py``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Term:
    """A word (``attack``, ``attack*``) or a quoted phrase (``"will be targeted"``).

    ``text`` is the term as written, without quotes; words inside may end in ``*``.
    """

    text: str
    phrase: bool = False


@dataclass(frozen=True)
class Ref:
    """``actor:ID``, ``kind:KIND`` or ``lexicon:NAME``."""

    field: str  # "actor" | "kind" | "lexicon"
    name: str


@dataclass(frozen=True)
class Near:
    left: "Node"
    right: "Node"
    distance: int


@dataclass(frozen=True)
class Not:
    operand: "Node"


@dataclass(frozen=True)
class And:
    operands: tuple["Node", ...]


@dataclass(frozen=True)
class Or:
    operands: tuple["Node", ...]


Node = Term | Ref | Near | Not | And | Or


class QueryError(ValueError):
    """A query that does not parse. ``column`` is 1-based."""

    def __init__(self, message: str, query: str, column: int) -> None:
        self.message = message
        self.query = query
        self.column = column
        super().__init__(f"{message} at column {column}")


def parse(query: str) -> Node:
    raise NotImplementedError
