"""Rule tests inside the watch list (``rules[].examples``, docs/rule-language.md).

Each example is a short text scanned as an article of its own (each line a paragraph,
no headline); a ``fire`` example must raise the rule's alert, a ``silent`` one must not.
Pure: ``tocsin check`` prints the failures with their file and line.
"""

from __future__ import annotations

from typing import NamedTuple

from extractors.article import Article
from extractors.rules import CompiledWatchlist
from extractors.scan import scan_article
from extractors.watchlist import Watchlist


class ExampleFailure(NamedTuple):
    rule_index: int
    rule: str
    expected: str  # "fire" | "silent"
    index: int  # the example's position in its list
    text: str
    evidence: str | None  # for a silent example that fired: the first unit it fired on

    @property
    def loc(self) -> list[str | int]:
        """Where the example is in the watch-list file."""
        return ["rules", self.rule_index, "examples", self.expected, self.index]

    def describe(self) -> str:
        if self.expected == "fire":
            return f"rule {self.rule!r}: example does not fire: {self.text!r}"
        return f"rule {self.rule!r}: silent example fires on {self.evidence!r}: {self.text!r}"


def example_article(text: str) -> Article:
    return Article(id="example", title="", paragraphs=[line for line in text.splitlines() if line.strip()])


def check_examples(watchlist: Watchlist, compiled: CompiledWatchlist) -> tuple[int, list[ExampleFailure]]:
    """How many examples the watch list carries, and those that fail."""
    total, failures = 0, []
    for i, rule in enumerate(watchlist.rules):
        if rule.examples is None:
            continue
        for expected, texts in (("fire", rule.examples.fire), ("silent", rule.examples.silent)):
            for j, text in enumerate(texts):
                total += 1
                alert = next((a for a in scan_article(example_article(text), compiled).alerts if a.rule == rule.id), None)
                if (alert is not None) != (expected == "fire"):
                    evidence = alert.evidence[0].text if alert is not None else None
                    failures.append(ExampleFailure(i, rule.id, expected, j, text, evidence))
    return total, failures
