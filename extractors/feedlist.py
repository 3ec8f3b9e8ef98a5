"""The feed list (spec §6): model and loader."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from extractors.config import ConfigError, read_yaml, validate

_ID = re.compile(r"[a-z0-9][a-z0-9-]*")


class Feed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str
    url: str
    fetch_article: bool = False
    allow_private: bool = False
    language: str | None = Field(default=None, pattern=r"^[a-z]{2,3}$")  # what the outlet publishes in: the declared language of items that give none

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not _ID.fullmatch(v):
            raise ValueError("a feed id is lower-case letters, digits and '-', starting with a letter or digit")
        return v

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        try:
            parts = urlsplit(v)
            parts.port  # noqa: B018  (raises on an invalid port)
        except ValueError:
            parts = None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in v):
            raise ValueError("a feed url must be an http:// or https:// address")
        return v


class FeedList(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1]
    feeds: list[Feed] = []


def load_feeds(path: str | Path) -> FeedList:
    """The feed list at ``path``; ``ConfigError`` lists every problem as ``FILE:LINE: message``."""
    doc = read_yaml(path)
    raw = doc.data.get("feeds")
    ids = [f.get("id") if isinstance(f, dict) else None for f in raw] if isinstance(raw, list) else []
    first: dict[str, int] = {}
    duplicates = []
    for n, i in enumerate(ids):
        if isinstance(i, str) and i in first:
            duplicates.append(doc.error(["feeds", n, "id"], f"duplicate feed id {i!r} (first at line {doc.line(['feeds', first[i], 'id'])})"))
        elif isinstance(i, str):
            first[i] = n
    try:
        feeds = validate(doc, FeedList)
    except ConfigError as exc:
        raise ConfigError(exc.errors + duplicates) from None
    if duplicates:
        raise ConfigError(duplicates)
    return feeds
