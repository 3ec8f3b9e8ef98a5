"""Article extraction from an HTML page: title, body paragraphs, publication time, outlet."""

from __future__ import annotations

import json
import re
from datetime import datetime
from urllib.parse import urlsplit

from bs4 import BeautifulSoup, Tag

from extractors.article import Article
from extractors.errors import ArticleError

_DROP = ["script", "style", "noscript", "iframe", "nav", "footer", "aside", "form", "header", "svg", "template"]
_TITLE_SUFFIX = re.compile(r"\s+[|\-\u2013\u2014]\s+[^|\-\u2013\u2014]{2,60}$")
_MIN_PARAGRAPH = 40
MAX_HTML_BYTES = 5 * 1024 * 1024


def extract_html(html: str | bytes, *, id: str, url: str | None = None, path: str | None = None) -> Article:
    if len(html) > MAX_HTML_BYTES:
        html = html[:MAX_HTML_BYTES]
    if isinstance(html, bytes):
        html = html.replace(b"\x00", b"")
    else:
        html = html.replace("\x00", "")
    try:
        soup = BeautifulSoup(html, "lxml")
    except Exception as exc:  # lxml rejects some hostile input outright
        raise ArticleError(f"not parseable as HTML: {exc}") from None
    meta = {
        (m.get("property") or m.get("name") or "").lower(): m.get("content", "")
        for m in soup.find_all("meta")
        if isinstance(m, Tag)
    }
    ld = _json_ld(soup)
    for tag in soup(_DROP):
        tag.decompose()
    root = soup.find("article") or soup.find("main") or soup.body or soup
    title = _clean(meta.get("og:title") or _text(root.find("h1")) or _text(soup.title))
    title = _TITLE_SUFFIX.sub("", title) if not meta.get("og:title") else title
    paragraphs = [t for p in root.find_all("p") if len(t := _clean(p.get_text(" "))) >= _MIN_PARAGRAPH or not _link_dense(p)]
    paragraphs = [p for p in paragraphs if p]
    if not title and not paragraphs:
        raise ArticleError("no article text found")
    source = meta.get("og:site_name") or _ld_publisher(ld) or (urlsplit(url).hostname if url else None)
    published = _date(meta.get("article:published_time") or ld.get("datePublished") or _time_tag(root))
    return Article(
        id=id, title=title or paragraphs[0][:120], paragraphs=paragraphs, source=source or None,
        published=published, url=url, path=path,
    )


def _clean(text: str | None) -> str:
    return " ".join((text or "").split())


def _text(tag: object) -> str:
    return tag.get_text(" ") if isinstance(tag, Tag) else ""


def _link_dense(p: Tag) -> bool:
    text = len(p.get_text())
    links = sum(len(a.get_text()) for a in p.find_all("a"))
    return text == 0 or links / text > 0.5


def _json_ld(soup: BeautifulSoup) -> dict:
    for script in soup.find_all("script", type="application/ld+json"):
        try:
            data = json.loads(script.string or "")
        except (ValueError, RecursionError):
            continue
        for item in data if isinstance(data, list) else [data]:
            if isinstance(item, dict) and "datePublished" in item:
                return item
    return {}


def _ld_publisher(ld: dict) -> str | None:
    pub = ld.get("publisher")
    return pub.get("name") if isinstance(pub, dict) else None


def _time_tag(root: object) -> str | None:
    t = root.find("time", datetime=True) if isinstance(root, Tag) or isinstance(root, BeautifulSoup) else None
    return t.get("datetime") if isinstance(t, Tag) else None


def _date(value: object) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        d = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return d if d.tzinfo else None
