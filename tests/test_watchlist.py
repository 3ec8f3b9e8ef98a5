"""Spec §1 loading: a good file loads; every kind of mistake is one line naming file, line and value."""

from __future__ import annotations

from pathlib import Path

import pytest

from extractors.config import ConfigError
from extractors.feedlist import load_feeds
from extractors.watchlist import load_watchlist
from tests.helpers import ROOT

GOOD = """\
version: 1
actors:
  - id: kataib-hezbollah
    name: Kata'ib Hezbollah
    kind: armed-group
    aliases:
      - Kataib Hezbollah
    exact: [KH]
    member_of: [iraqi-militias]
  - id: iraqi-militias
    name: Iraqi militias
    kind: coalition
lexicons:
  threat:
    - threat*
  denial:
    - denied
rules:
  - id: armed-group-threat
    title: Armed group issues a threat
    severity: high
    scope: sentence
    query: kind:armed-group NEAR/15 lexicon:threat AND NOT lexicon:denial
    notify: [ops]
channels:
  ops: ${TOCSIN_TEST_OPS_URL}
"""


def load(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "wl.yaml"
    path.write_text(text)
    return load_watchlist(path)


def errors(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        load(tmp_path, text)
    return exc.value.errors


@pytest.fixture(autouse=True)
def ops_url(monkeypatch: pytest.MonkeyPatch) -> str:
    url = "json://127.0.0.1:9/hook?token=s3cr3t-token"
    monkeypatch.setenv("TOCSIN_TEST_OPS_URL", url)
    return url


def test_the_spec_example_loads(tmp_path: Path, ops_url: str) -> None:
    wl = load(tmp_path, GOOD)
    assert [a.id for a in wl.actors] == ["kataib-hezbollah", "iraqi-militias"]
    assert wl.channels["ops"].get_secret_value() == ops_url
    assert wl.rules[0].scope == "sentence"
    assert "s3cr3t" not in repr(wl)


def test_the_default_watch_list_and_feed_list_load() -> None:
    wl = load_watchlist(ROOT / "deployments" / "watchlist.yaml")
    assert len(wl.actors) > 20 and wl.rules
    assert load_feeds(ROOT / "deployments" / "feeds.yaml").feeds


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("    aliases:\n", "    aliasses:\n", "wl.yaml:6: unknown key 'aliasses' in actors[0]"),
        ("severity: high", "severity: urgent", "wl.yaml:21: rules[0].severity: Input should be 'info', 'low', 'medium', 'high' or 'critical': 'urgent'"),
        ("    kind: coalition\n", "    kind: coalition\n  - id: iraqi-militias\n    name: Again\n    kind: coalition\n", "wl.yaml:13: duplicate actor id 'iraqi-militias'"),
        ("member_of: [iraqi-militias]", "member_of: [iraqi-milita]", "wl.yaml:9: member_of names no actor: 'iraqi-milita'"),
        ("AND NOT lexicon:denial", "AND NOT (lexicon:denial", "wl.yaml:23: query does not parse: unbalanced parenthesis: '(' is never closed at column 49"),
        ("lexicon:threat AND", "lexicon:threats AND", "wl.yaml:23: query refers to no lexicon: 'lexicon:threats'"),
        ("kind:armed-group", "kind:militia", "wl.yaml:23: query refers to no kind: 'kind:militia'"),
        ("notify: [ops]", "notify: [opz]", "wl.yaml:24: notify names no channel: 'opz'"),
        ("id: kataib-hezbollah\n", "id: Kataib_Hezbollah\n", "wl.yaml:3: actors[0].id: String should match pattern"),
        ("version: 1", "version: 2", "wl.yaml:1: version: Input should be 1: 2"),
        ("    - threat*", "    - thr*at", "wl.yaml:15: not a valid term: 'thr*at'"),
    ],
)
def test_each_mistake_is_one_line_with_file_line_and_value(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert old in GOOD
    found = errors(tmp_path, GOOD.replace(old, new, 1))
    assert len(found) == 1, found
    assert found[0].startswith(str(tmp_path / expected.split(":")[0]))
    assert expected.split(":", 1)[1] in found[0], found


def test_member_of_cycle(tmp_path: Path) -> None:
    text = GOOD.replace("    kind: coalition\n", "    kind: coalition\n    member_of: [kataib-hezbollah]\n")
    found = errors(tmp_path, text)
    assert any("member_of forms a cycle" in e for e in found)


def test_every_error_is_listed_not_only_the_first(tmp_path: Path) -> None:
    found = errors(tmp_path, GOOD.replace("severity: high", "severity: urgent").replace("    aliases:\n", "    aliasses:\n"))
    assert len(found) == 2


def test_unset_variable_names_the_variable_never_a_value(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TOCSIN_TEST_OPS_URL")
    found = errors(tmp_path, GOOD)
    assert found == [f"{tmp_path / 'wl.yaml'}:26: channel 'ops': environment variable TOCSIN_TEST_OPS_URL is not set"]


def test_a_bad_channel_value_is_never_quoted(tmp_path: Path) -> None:
    found = errors(tmp_path, GOOD.replace("${TOCSIN_TEST_OPS_URL}", "[s3cr3t-token]"))
    assert found and all("s3cr3t" not in e for e in found)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "the file is empty"),
        (b"version: 1\nactors: [\n", "invalid YAML"),
        (b"- a\n- b\n", "the top level must be a mapping"),
        (b"version: 1\nversion: 1\n", "duplicate key 'version'"),
        (b"version: 1\n\xff\xfe", "not UTF-8 text"),
        (b"version: 1\n? [a, b]\n: c\n", "wl.yaml:2: a key must be a single value"),
        (b"version: 1\nlexicons: &x {a: *x}\n", "wl.yaml:2: a YAML alias refers to the value it is part of"),
        (b"version: 1\nx: !!binary zz\n", "wl.yaml:2: not a usable value: failed to decode base64"),
        (b"version: 1\nx: 2026-13-45\n", "wl.yaml:2: not a usable value: month must be in 1..12"),
        (b"version: 1\nx: " + b"[" * 600 + b"]" * 600 + b"\n", "nested too deeply"),
    ],
)
def test_unusable_files(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "wl.yaml"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as exc:
        load_watchlist(path)
    assert expected in str(exc.value) and str(path) in str(exc.value)


def test_anchors_aliases_and_merge_keys_load(tmp_path: Path) -> None:
    path = tmp_path / "wl.yaml"
    path.write_text(
        "version: 1\nactors:\n  - &group {id: kh, name: Kataib Hezbollah, kind: armed-group, aliases: [KH]}\n"
        "  - <<: *group\n    id: ah\n    name: Asaib Ahl al-Haq\n"
    )
    wl = load_watchlist(path)
    assert [(a.id, a.kind, a.aliases) for a in wl.actors] == [("kh", "armed-group", ["KH"]), ("ah", "armed-group", ["KH"])]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_watchlist(tmp_path / "nope.yaml")


def test_duplicate_feed_ids(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text("version: 1\nfeeds:\n  - {id: a, name: A, url: 'https://a.example/rss'}\n  - {id: a, name: B, url: 'https://b.example/rss'}\n")
    with pytest.raises(ConfigError, match=r"feeds.yaml:4: duplicate feed id 'a'"):
        load_feeds(path)


def test_a_misspelt_key_gets_did_you_mean(tmp_path: Path) -> None:
    found = errors(tmp_path, GOOD.replace("severity: high", "severty: high"))
    assert any(e.startswith(f"{tmp_path / 'wl.yaml'}:21: unknown key 'severty' in rules[0] (did you mean 'severity'?)") for e in found), found
    found = errors(tmp_path, GOOD.replace("    aliases:\n", "    aliasses:\n"))
    assert found[0].endswith("unknown key 'aliasses' in actors[0] (did you mean 'aliases'?)")
    found = errors(tmp_path, GOOD.replace("version: 1", "version: 1\nxyzzy: 2"))
    assert found == [f"{tmp_path / 'wl.yaml'}:2: unknown key 'xyzzy'"]  # nothing close: no guess
    found = errors(tmp_path, GOOD.replace("lexicon:threat AND", "lexicon:threats AND"))
    assert found[0].endswith("query refers to no lexicon: 'lexicon:threats' (did you mean 'lexicon:threat'?)")
    found = errors(tmp_path, GOOD.replace("member_of: [iraqi-militias]", "member_of: [iraqi-milita]"))
    assert found[0].endswith("member_of names no actor: 'iraqi-milita' (did you mean 'iraqi-militias'?)")


@pytest.mark.parametrize(
    ("query", "hint"),
    [
        ("kind:armed-group NEAR lexicon:threat", "NEAR needs a distance, e.g. NEAR/5"),
        ("kind:armed-group near/5 lexicon:threat", "operators are upper case (NEAR/5)"),
        ("kind:armed-group and lexicon:threat", "operators are upper case (AND)"),
    ],
)
def test_query_mistakes_get_a_hint(tmp_path: Path, query: str, hint: str) -> None:
    found = errors(tmp_path, GOOD.replace("kind:armed-group NEAR/15 lexicon:threat", query))
    assert len(found) == 1 and found[0].startswith(f"{tmp_path / 'wl.yaml'}:23: query does not parse: ") and hint in found[0], found


def test_problems_past_a_schema_error_are_still_reported(tmp_path: Path) -> None:
    # a bad severity (schema), a query naming no lexicon and an unknown member_of (cross-checks),
    # a bad query in another rule: all four, in file order
    text = (
        GOOD.replace("severity: high", "severity: urgent")
        .replace("lexicon:threat AND", "lexicon:threats AND")
        .replace("member_of: [iraqi-militias]", "member_of: [iraqi-milita]")
        + "  - id: second\n    title: S\n    severity: low\n    query: a NEAR b\n"
    )
    text = text.replace("channels:\n  ops: ${TOCSIN_TEST_OPS_URL}\n", "") + "channels:\n  ops: ${TOCSIN_TEST_OPS_URL}\n"
    found = errors(tmp_path, text)
    assert [e.split(": ", 1)[0].rsplit(":", 1)[1] for e in found] == ["9", "21", "23", "28"], found
    assert "member_of names no actor" in found[0] and "urgent" in found[1]
    assert "refers to no lexicon" in found[2] and "NEAR needs a distance" in found[3]


@pytest.mark.parametrize(
    ("content", "line"),
    [
        ("version: 1\nrules:\n  - id: x\n    title X\n    severity: high\n", 4),  # key with no ':'
        ("version: 1\nactors: [a, b\nrules: []\n", 2),  # unclosed [
        ('version: 1\nrules:\n  - id: "x\n    title: X\n', 3),  # unclosed quote
        ("version: 1\nrules:\n  - id: x\n     title: X\n", 4),
        ("version: 1\nrules:\n  - id: x\n    query: a\n   - id: y\n", 5),
    ],
)
def test_yaml_errors_name_the_line_to_fix(tmp_path: Path, content: str, line: int) -> None:
    found = errors(tmp_path, content)
    assert found[0].startswith(f"{tmp_path / 'wl.yaml'}:{line}: invalid YAML"), found
