"""Every feed of ../shared/corpora/feeds (feedparser's own test feeds and real-world feeds from
feedjira, ~2,150 files), served from 127.0.0.1 and read by the real poll path.

Per feed: no crash; no fewer entries with text than feedparser itself finds in the same bytes;
no markup or undecoded entity in any title; no U+FFFD where feedparser's own decoding has none.
About 20 s on 2 cores (polled in batches of 300, parsed in worker processes as the monitor does).
"""

from __future__ import annotations

import re
from pathlib import Path

import feedparser
import pytest

from extractors.feedlist import Feed
from extractors.feedtext import fragment_paragraphs
from flows.ingest.feeds import poll_feeds_sync
from flows.ingest.fetch import Limits
from flows.store.db import connect
from tests.feedserver import FeedServer
from tests.helpers import ROOT

CORPUS = ROOT.parent / "shared" / "corpora" / "feeds"
BATCH = 300
MARKUP = re.compile(r"<[A-Za-z/!?][^<>]*>")
ENTITY = re.compile(r"&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]{1,31});")


def _files() -> list[Path]:
    return sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.suffix in (".xml", ".json"))


def _reference(body: bytes) -> tuple[int, bool, bool]:
    """feedparser on the same bytes: its distinct entries with text; whether any of its text holds
    U+FFFD; whether a title holds brackets or ampersands as text (a plain-text title with them, an
    HTML one with them escaped), which a clean title then keeps."""
    try:
        parsed = feedparser.parse(body)  # as a file: feedparser's own best reading of the bytes
    except Exception:  # noqa: BLE001  (feedparser raises on some hostile references: it finds nothing)
        return 0, False, False
    seen, replacement, literal = set(), False, False
    for e in parsed.entries:
        title, kind = e.get("title") or "", (e.get("title_detail") or {}).get("type", "")
        literal |= ("<" in title or "&" in title) if kind == "text/plain" else ("&lt;" in title or "&amp;" in title)
        values = [e.get("title") or "", e.get("summary") or "", *((c.get("value") or "") for c in e.get("content") or [])]
        replacement |= any("\ufffd" in v for v in values)
        text = tuple(" ".join(fragment_paragraphs(v)) for v in values)
        if any(text):
            seen.add((e.get("id"), e.get("link"), text))
    return len(seen), replacement, literal


@pytest.mark.slow
def test_every_corpus_feed_is_read_whole_and_clean(tmp_path: Path) -> None:
    files = _files()
    if len(files) < 2000:
        pytest.skip(f"the feed corpus is not beside the repository ({CORPUS})")
    problems: list[str] = []
    with FeedServer() as server:
        bodies = {f"/f{n}": path.read_bytes() for n, path in enumerate(files)}
        server.routes.update(bodies)
        names = {f"f{n}": str(path.relative_to(CORPUS)) for n, path in enumerate(files)}
        feeds = [Feed(id=f"f{n}", name=names[f"f{n}"], url=f"{server.url}/f{n}") for n in range(len(files))]
        for start in range(0, len(feeds), BATCH):
            batch = feeds[start : start + BATCH]
            report = poll_feeds_sync(batch, connect(f"sqlite:///{tmp_path / f'state{start}.db'}"), limits=Limits(per_host=16))
            results = {r.feed_id: r for r in report.results}
            items: dict[str, list] = {f.id: [] for f in batch}
            for item in report.items:
                items[item.feed_id].append(item.article)
            for f in batch:
                expected, replacement, literal = _reference(bodies["/" + f.id])
                got, r = items[f.id], results[f.id]
                where = names[f.id]
                if r.status not in ("ok", "failed") or (r.reason or "").startswith(("Exception", "TypeError", "AttributeError", "KeyError")):
                    problems.append(f"{where}: crashed: {r.status} {r.reason}")
                if len(got) < expected:
                    problems.append(f"{where}: {len(got)} entries with text, feedparser finds {expected} ({r.status} {r.reason})")
                for a in got:
                    if not literal and (MARKUP.search(a.title) or ENTITY.search(a.title)):
                        problems.append(f"{where}: title {a.title[:100]!r}")
                    if not replacement and "\ufffd" in a.text:
                        problems.append(f"{where}: U+FFFD in {a.text[:100]!r}")
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:40])
