"""The feed list (spec §6): loading and every error as FILE:LINE."""

from __future__ import annotations

from pathlib import Path

import pytest

from extractors.config import ConfigError
from extractors.feedlist import load_feeds
from tests.helpers import ROOT


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "feeds.yaml"
    path.write_text(text)
    return path


def test_a_valid_feed_list_loads_with_defaults(tmp_path: Path) -> None:
    feeds = load_feeds(write(tmp_path, """\
version: 1
feeds:
  - id: shafaq-en
    name: Shafaq News (English)
    url: https://shafaq.com/en/rss
    fetch_article: true
  - {id: local, name: Local, url: "http://127.0.0.1:8080/rss", allow_private: true}
""")).feeds
    assert [(f.id, f.fetch_article, f.allow_private) for f in feeds] == [("shafaq-en", True, False), ("local", False, True)]


def test_the_shipped_default_list_is_valid() -> None:
    feeds = load_feeds(ROOT / "deployments" / "feeds.yaml").feeds
    assert len(feeds) >= 12 and all(f.url.startswith("https://") for f in feeds)


def test_every_problem_is_listed_with_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, """\
version: 1
feeds:
  - id: a
    name: A
    url: https://a.example/rss
  - id: Bad_Id
    name: B
    url: ftp://b.example/rss
    colour: red
  - id: a
    name: A again
    url: https://a2.example/rss
  - id: c
    url: "https://c.example/ rss"
""")
    with pytest.raises(ConfigError) as err:
        load_feeds(path)
    assert err.value.errors == [
        f"{path}:6: feeds[1].id: a feed id is lower-case letters, digits and '-', starting with a letter or digit: 'Bad_Id'",
        f"{path}:8: feeds[1].url: a feed url must be an http:// or https:// address: 'ftp://b.example/rss'",
        f"{path}:9: unknown key 'colour' in feeds[1]",
        f"{path}:13: feeds[3].name: Field required",
        f"{path}:14: feeds[3].url: a feed url must be an http:// or https:// address: 'https://c.example/ rss'",
        f"{path}:10: duplicate feed id 'a' (first at line 3)",
    ]


def test_a_duplicate_id_alone_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nfeeds:\n  - {id: x, name: X, url: 'https://x.example/'}\n  - {id: x, name: Y, url: 'https://y.example/'}\n")
    with pytest.raises(ConfigError, match=r"feeds.yaml:4: duplicate feed id 'x' \(first at line 3\)$"):
        load_feeds(path)


@pytest.mark.parametrize(("text", "message"), [
    ("version: 2\nfeeds: []\n", ":1: version: Input should be 1: 2"),
    ("feeds: [1, 2\n", "invalid YAML"),
    ("version: 1\nfeeds: {a: 1}\n", ":2: feeds: Input should be a valid list"),
])
def test_malformed_files_give_one_line_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_feeds(write(tmp_path, text))
    assert message in str(err.value) and "Traceback" not in str(err.value)
