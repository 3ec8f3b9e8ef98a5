"""The feed list (spec §6): model and loader."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints

from extractors.config import ConfigError, read_yaml, validate

Id = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*$")]
Url = Annotated[str, StringConstraints(pattern=r"^https?://[^\s/]+")]


class Feed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Id
    name: str
    url: Url
    fetch_article: bool = False
    allow_private: bool = False


class FeedList(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1]
    feeds: list[Feed] = []


def load_feeds(path: str | Path) -> FeedList:
    doc = read_yaml(path)
    feeds = validate(doc, FeedList)
    seen: set[str] = set()
    errors = []
    for i, f in enumerate(feeds.feeds):
        if f.id in seen:
            errors.append(doc.error(["feeds", i, "id"], f"duplicate feed id {f.id!r}"))
        seen.add(f.id)
    if errors:
        raise ConfigError(errors)
    return feeds
