"""Spec §2 grammar: the tree each form parses to, and every parse error with its column."""

from __future__ import annotations

import pytest

from extractors.query import And, Near, Not, Or, QueryError, Ref, Term, parse


@pytest.mark.parametrize(
    ("query", "tree"),
    [
        ("attack", Term("attack")),
        ("attack*", Term("attack*")),
        ('"will be targeted"', Term("will be targeted", phrase=True)),
        ('"vow* to strike"', Term("vow* to strike", phrase=True)),
        ("actor:kataib-hezbollah", Ref("actor", "kataib-hezbollah")),
        ("kind:armed-group", Ref("kind", "armed-group")),
        ("lexicon:threat", Ref("lexicon", "threat")),
        ("a NEAR/15 b", Near(Term("a"), Term("b"), 15)),
        ("NOT a", Not(Term("a"))),
        ("a AND b AND c", And((Term("a"), Term("b"), Term("c")))),
        ("a OR b", Or((Term("a"), Term("b")))),
        ("(a OR b) AND c", And((Or((Term("a"), Term("b"))), Term("c")))),
        # precedence, tightest first: NEAR, NOT, AND, OR
        ("NOT a NEAR/3 b", Not(Near(Term("a"), Term("b"), 3))),
        ("a OR b AND NOT c", Or((Term("a"), And((Term("b"), Not(Term("c"))))))),
        (
            "kind:armed-group NEAR/15 lexicon:threat AND NOT lexicon:denial",
            And((Near(Ref("kind", "armed-group"), Ref("lexicon", "threat"), 15), Not(Ref("lexicon", "denial")))),
        ),
        ("a NEAR/2 b NEAR/3 c", Near(Near(Term("a"), Term("b"), 2), Term("c"), 3)),
        ("(a OR b) NEAR/2 c", Near(Or((Term("a"), Term("b"))), Term("c"), 2)),
        ('"rock and roll"', Term("rock and roll", phrase=True)),
        # BEFORE/n (extension, docs/rule-language.md): NEAR's precedence, left to right
        ("a BEFORE/4 b", Near(Term("a"), Term("b"), 4, ordered=True)),
        ("a BEFORE/2 b NEAR/3 c", Near(Near(Term("a"), Term("b"), 2, ordered=True), Term("c"), 3)),
        ("NOT a BEFORE/3 b AND c", And((Not(Near(Term("a"), Term("b"), 3, ordered=True)), Term("c")))),
    ],
)
def test_parses(query: str, tree: object) -> None:
    assert parse(query) == tree


@pytest.mark.parametrize(
    ("query", "message", "column"),
    [
        ("", "empty query", 1),
        ("a b", "no operator", 3),
        ("a and b", "'and' is a word, not an operator: operators are upper case (AND)", 3),  # ordinary words, with a hint
        ("a OR b or c", "operators are upper case (OR)", 8),
        ("a near/5 b", "operators are upper case (NEAR/5)", 3),
        ("a near b", "operators are upper case (NEAR/5)", 3),
        ("a NEAR b", "NEAR needs a distance, e.g. NEAR/5", 3),
        ("(a OR b) NEAR c", "NEAR needs a distance, e.g. NEAR/5", 10),
        ("a BEFORE b", "BEFORE needs a distance, e.g. BEFORE/5", 3),
        ("a BEFORE/x b", "BEFORE needs a distance", 3),
        ("a BEFORE/3 NOT b", "NOT cannot be an operand of NEAR", 12),
        ('a "and" b', "no operator", 3),  # a quoted word is a term, never an operator
        ("(a OR b", "never closed", 1),
        ("a OR b)", "without '('", 7),
        ("a AND", "ends where a term was expected", 6),
        ("OR a", "where a term was expected", 1),
        ('"will be', "unterminated quote", 1),
        ('""', "empty phrase", 1),
        ("a NEAR/x b", "NEAR needs a distance", 3),
        ("a NEAR/ b", "NEAR needs a distance", 3),
        ("(a AND b) NEAR/3 c", "inside an operand of NEAR", 1),
        ("a NEAR/3 (b AND NOT c)", "inside an operand of NEAR", 10),
        ("a NEAR/3 NOT b", "NOT cannot be an operand of NEAR", 10),
        ("foo:bar", "unknown field", 1),
        ("actor:", "needs a name", 1),
        ("at*ck", "may only end a word", 1),
        ("a OR *", "may only end a word", 6),
    ],
)
def test_parse_errors_name_the_column(query: str, message: str, column: int) -> None:
    with pytest.raises(QueryError) as exc:
        parse(query)
    assert message in exc.value.message
    assert exc.value.column == column
    assert str(exc.value).endswith(f"at column {column}")
