"""The rule query language (spec §2): parser and syntax tree.

The tree is plain frozen dataclasses; evaluation lives in ``rules.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
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
    """``left NEAR/n right``; with ``ordered``, ``left BEFORE/n right`` (extension, see
    docs/rule-language.md): ``right`` must come after ``left``."""

    left: "Node"
    right: "Node"
    distance: int
    ordered: bool = False


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


_TOKEN = re.compile(
    r"""\s*(?:
      (?P<lparen>\()|(?P<rparen>\))
    | (?P<near>(?P<nop>NEAR|BEFORE)/(?P<n>\S*?))(?=[\s()"]|$)
    | (?P<op>AND|OR|NOT)(?=[\s()"]|$)
    | "(?P<phrase>[^"]*)(?P<close>"?)
    | (?P<word>[^\s()"]+)
    )""",
    re.VERBOSE,
)
_FIELDS = ("actor", "kind", "lexicon")
_OPERATOR_LIKE = re.compile(r"(?P<op>(?i:and|or|not|near|before))(?P<n>/\d+)?\Z")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*\Z")


@dataclass(frozen=True)
class _Tok:
    kind: str  # "(", ")", "NEAR", "AND", "OR", "NOT", "term", "end"
    column: int
    value: object = None
    ordered: bool = False  # BEFORE/n rather than NEAR/n


def parse(query: str) -> Node:
    """Parse a rule query; raise ``QueryError`` naming the column of the first problem."""
    return _Parser(query).parse()


MAX_DEPTH = 64  # parentheses and NOTs inside each other


class _Parser:
    def __init__(self, query: str) -> None:
        self.depth = 0
        self.query = query
        self.tokens = list(self._tokenize())
        self.pos = 0

    def error(self, message: str, column: int) -> QueryError:
        return QueryError(message, self.query, column)

    def _tokenize(self) -> Iterator[_Tok]:
        pos, q = 0, self.query
        while pos < len(q):
            m = _TOKEN.match(q, pos)
            if m is None or m.end() == pos:
                break
            col = m.start(m.lastgroup) + 1 if m.lastgroup else pos + 1
            if m["lparen"]:
                yield _Tok("(", col)
            elif m["rparen"]:
                yield _Tok(")", col)
            elif m["near"]:
                col = m.start("near") + 1
                if not m["n"].isdigit() or int(m["n"]) < 0:
                    raise self.error(f"{m['nop']} needs a distance in words, like {m['nop']}/5, not {m['near']!r}", col)
                yield _Tok("NEAR", col, int(m["n"]), m["nop"] == "BEFORE")
            elif m["op"]:
                yield _Tok(m["op"], m.start("op") + 1)
            elif m["phrase"] is not None:
                col = m.start("phrase")
                if not m["close"]:
                    raise self.error("unterminated quote", col)
                yield _Tok("term", col, self._term(m["phrase"], True, col))
            else:
                col = m.start("word") + 1
                yield _Tok("term", col, self._word(m["word"], col))
            pos = m.end()
        yield _Tok("end", len(q) + 1)

    def _word(self, word: str, col: int) -> Node:
        field, sep, name = word.partition(":")
        if sep and field in _FIELDS:
            if not _NAME.match(name):
                raise self.error(f"{field}: needs a name, not {name!r}", col)
            return Ref(field, name)
        if sep and field.isalpha() and field.islower():
            raise self.error(f"unknown field {field + ':'!r} (use actor:, kind: or lexicon:)", col)
        return self._term(word, False, col)

    def _term(self, text: str, phrase: bool, col: int) -> Term:
        words = text.split()
        if not words:
            raise self.error("empty phrase", col)
        for w in words:
            if "*" in w[:-1] or w == "*":
                raise self.error(f"a * may only end a word: {w!r}", col)
        return Term(" ".join(words), phrase)

    def peek(self) -> _Tok:
        return self.tokens[self.pos]

    def take(self) -> _Tok:
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def parse(self) -> Node:
        if self.peek().kind == "end":
            raise self.error("empty query", 1)
        node = self.or_expr()
        tok = self.peek()
        if tok.kind == ")":
            raise self.error("unbalanced parenthesis: ')' without '('", tok.column)
        if tok.kind != "end":
            raise self._no_operator(tok)
        return node

    def or_expr(self) -> Node:
        parts = [self.and_expr()]
        while self.peek().kind == "OR":
            self.take()
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else Or(_flatten(Or, parts))

    def and_expr(self) -> Node:
        parts = [self.not_expr()]
        while self.peek().kind == "AND":
            self.take()
            parts.append(self.not_expr())
        return parts[0] if len(parts) == 1 else And(_flatten(And, parts))

    def not_expr(self) -> Node:
        if self.peek().kind == "NOT":
            tok = self.take()
            self._deeper(tok.column)
            node = Not(self.not_expr())
            self.depth -= 1
            return node
        return self.near_expr()

    def _deeper(self, column: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"nested more than {MAX_DEPTH} deep", column)

    def near_expr(self) -> Node:
        start = self.peek()
        node = self.primary()
        while self.peek().kind == "NEAR":
            near = self.take()
            self._near_operand(node, start.column)
            right_tok = self.peek()
            if right_tok.kind == "NOT":
                raise self.error("NOT cannot be an operand of NEAR", right_tok.column)
            right = self.primary()
            self._near_operand(right, right_tok.column)
            node = Near(node, right, int(near.value), near.ordered)  # type: ignore[arg-type]
        return node

    def _no_operator(self, tok: _Tok) -> QueryError:
        """The error for two adjacent terms, with a hint when one of them looks like an operator
        written wrong (``NEAR`` with no distance, lower-case ``and``)."""
        message = "two terms with no operator between them (use AND, OR or NEAR/n)"
        at = self.tokens.index(tok)
        for t in (tok, self.tokens[at - 1]) if at else (tok,):
            word = t.value.text if t.kind == "term" and not t.value.phrase else ""  # type: ignore[union-attr]
            op = _OPERATOR_LIKE.match(word)
            if not op:
                continue
            name = op["op"].upper()
            if op["op"].isupper():  # NEAR or BEFORE without /n
                return self.error(f"{name} needs a distance, e.g. {name}/5", t.column)
            written = name + (op["n"] or ("/5" if name in ("NEAR", "BEFORE") else ""))
            return self.error(
                f"{word!r} is a word, not an operator: operators are upper case ({written}); "
                "to match the word, put it in a quoted phrase", t.column
            )
        return self.error(message, tok.column)

    def _near_operand(self, node: Node, column: int) -> None:
        if any(isinstance(n, (Not, And)) for n in walk(node)):
            raise self.error("NOT and AND cannot be used inside an operand of NEAR", column)

    def primary(self) -> Node:
        tok = self.take()
        if tok.kind == "term":
            return tok.value  # type: ignore[return-value]
        if tok.kind == "(":
            self._deeper(tok.column)
            node = self.or_expr()
            self.depth -= 1
            close = self.take()
            if close.kind != ")":
                if close.kind == "end":
                    raise self.error("unbalanced parenthesis: '(' is never closed", tok.column)
                raise self._no_operator(close)
            return node
        if tok.kind == "end":
            raise self.error("the query ends where a term was expected", tok.column)
        if tok.kind == ")":
            raise self.error("unbalanced parenthesis: ')' without '('", tok.column)
        raise self.error(f"{tok.kind} where a term was expected", tok.column)


def _flatten(cls: type, parts: list[Node]) -> tuple[Node, ...]:
    out: list[Node] = []
    for p in parts:
        out.extend(p.operands if isinstance(p, cls) else (p,))  # type: ignore[attr-defined]
    return tuple(out)


def walk(node: Node) -> Iterator[Node]:
    """Every node of the tree, depth first."""
    yield node
    if isinstance(node, Not):
        yield from walk(node.operand)
    elif isinstance(node, (And, Or)):
        for n in node.operands:
            yield from walk(n)
    elif isinstance(node, Near):
        yield from walk(node.left)
        yield from walk(node.right)
