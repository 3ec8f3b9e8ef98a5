"""Article extraction from an HTML page: title, body paragraphs, publication time, author,
language, outlet.

The body is trafilatura's (without comments, favouring precision), one paragraph per block it
keeps, less the paragraphs that are page furniture rather than story: the title again, and
labels such as "Advertisement", "Comments", "Read more: …" (``is_label``). The page's own
metadata gives the publication time (``article:published_time``, JSON-LD ``datePublished``, a
``<time datetime>``; only with a time zone) and the language (``<html lang>``, ``og:locale``).
Why this combination, and what it scores: docs/extraction.md.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime
from urllib.parse import urlsplit

import trafilatura
from bs4 import BeautifulSoup
from lxml import etree, html as lxml_html

from extractors.article import Article
from extractors.charset import decode_html
from extractors.errors import ArticleError

MAX_HTML_BYTES = 5 * 1024 * 1024
logging.getLogger("trafilatura").setLevel(logging.ERROR)  # "discarding data" on every short page is not news

# A paragraph that is only a label of the page's furniture, never story text.
_LABEL = re.compile(
    r"\W*(advertisement|advertising|sponsored( content)?|caption|close|(\d+\s*)?comments?(\s*\(\d+\))?|share( this)?( article| story)?"
    r"|related( articles| stories| posts?| content)?|read more|see more|more|also|you may also like|most (read|popular)( in [\w ]{1,40})?"
    r"|don'?t miss|recommended( for you)?|trending( now)?|top stories|filed under\W.*)\W*",
    re.IGNORECASE,
)
# A paragraph that points to another story: "Related: …", "Read more: …", "Also on example.com …".
_POINTER = re.compile(r"\W*(related|related posts?|read more|see more|read also|also read|more|filed under)\s*:|also on [\w-]+\.\w+ ", re.IGNORECASE)
_BULLET = re.compile(r"^- ")  # trafilatura's mark for a list item, not text
# A class or id token naming a block of reader comments (trafilatura looks for those in <div>,
# <section> and lists only, and a comment <article> can come before the story).
_COMMENTS = re.compile(r"(comments?|comment[-_]?(body|content|list|text|area|section|thread|wrapper|container)s?|comments[-_]?(area|list|section|container|wrapper)|disqus_thread)", re.IGNORECASE)
_PARSER = lxml_html.HTMLParser(encoding="utf-8", huge_tree=True, remove_comments=True, remove_pis=True)


def extract_html(
    html: str | bytes, *, id: str, url: str | None = None, path: str | None = None, content_type: str | None = None
) -> Article:
    """One page as an Article; ``content_type`` is the HTTP header, whose charset counts (after a
    BOM, before ``<meta>``: extractors.charset). Raises ``ArticleError``."""
    if len(html) > MAX_HTML_BYTES:
        html = html[:MAX_HTML_BYTES]
    text = decode_html(html, content_type) if isinstance(html, bytes) else html
    text = text.replace("\x00", "")
    try:
        tree = lxml_html.document_fromstring(text.encode("utf-8", "replace"), parser=_PARSER)
    except (etree.ParserError, ValueError) as exc:  # nothing parseable at all
        raise ArticleError(f"not parseable as HTML: {str(exc)[:200]}") from None
    published, language, source = _published(tree), _language(tree), _source(tree, url)
    _drop_comments(tree)
    doc = trafilatura.bare_extraction(tree, url=url, include_comments=False, favor_precision=True, with_metadata=True)
    title = " ".join((getattr(doc, "title", None) or "").split())
    found = _paragraphs(getattr(doc, "text", None) or "") or _plain_paragraphs(text)
    paragraphs = [p for p in found if not is_label(p) and _words(p) != _words(title)]
    if not title and not paragraphs:
        raise ArticleError("no article text found")
    return Article(
        id=id, title=title or paragraphs[0][:120], paragraphs=paragraphs, source=source, published=published,
        author=getattr(doc, "author", None) or None, language=language, url=url, path=path,
    )


def _drop_comments(tree: lxml_html.HtmlElement) -> None:
    """Remove the blocks of reader comments, wherever they are."""
    for element in tree.xpath("//body//*[@class or @id]"):
        names = f"{element.get('class', '')} {element.get('id', '')}".split()
        if any(_COMMENTS.fullmatch(n) for n in names) and element.getparent() is not None:
            element.drop_tree()


def is_label(paragraph: str) -> bool:
    """True for page furniture: a bare label ("Advertisement", "3 comments") or a pointer to another story."""
    return bool(_LABEL.fullmatch(paragraph) or _POINTER.match(paragraph))


def _paragraphs(text: str) -> list[str]:
    return [p for line in text.splitlines() if (p := " ".join(_BULLET.sub("", line.strip()).split()))]


def _plain_paragraphs(text: str) -> list[str]:
    """Every ``<p>``'s text, for a page trafilatura finds nothing in (a tiny page, or one nested
    deeper than libxml2 builds trees); BeautifulSoup's lxml builder has no depth limit."""
    soup = BeautifulSoup(text, "lxml")
    for tag in soup(["script", "style", "noscript", "template", "nav", "footer", "aside"]):
        tag.decompose()
    return [t for p in soup.find_all("p") if (t := " ".join(p.get_text(" ").split()))]


def _words(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def _published(tree: lxml_html.HtmlElement) -> datetime | None:
    """The publication time the page states with a time zone: meta, then JSON-LD, then ``<time>``."""
    meta = tree.xpath("//meta[@property='article:published_time' or @name='article:published_time']/@content")
    for value in [*meta, *_ld_values(tree, "datePublished"), *tree.xpath("//time/@datetime")[:1]]:
        if (d := _date(value)) is not None:
            return d
    return None


def _source(tree: lxml_html.HtmlElement, url: str | None) -> str | None:
    """The outlet: ``og:site_name``, JSON-LD ``publisher.name``, else the address's host."""
    names = [*tree.xpath("//meta[@property='og:site_name']/@content"), *(p.get("name") for p in _ld_values(tree, "publisher") if isinstance(p, dict))]
    name = next((" ".join(n.split()) for n in names if isinstance(n, str) and n.strip()), None)
    return name or (urlsplit(url).hostname if url else None)


def _language(tree: lxml_html.HtmlElement) -> str | None:
    """The primary language subtag the page declares (``<html lang>``, ``og:locale``,
    ``Content-Language``), lower case: "en-US" and "en_US" are "en"."""
    declared = tree.xpath(
        "/html/@lang | /html/@xml:lang | //meta[@property='og:locale']/@content"
        " | //meta[translate(@http-equiv,'CONTENT-LANGUAGE','content-language')='content-language']/@content",
        namespaces={"xml": "http://www.w3.org/XML/1998/namespace"},
    )
    for value in declared:
        primary = re.split(r"[-_,;\s]", str(value).strip(), maxsplit=1)[0].lower()
        if primary.isalpha() and 2 <= len(primary) <= 3:
            return primary
    return None


def _ld_values(tree: lxml_html.HtmlElement, key: str) -> list[object]:
    """Every ``key`` in the page's JSON-LD, at any depth (``@graph`` included)."""
    found: list[object] = []
    for script in tree.xpath("//script[@type='application/ld+json']/text()"):
        try:
            stack = [json.loads(script)]
        except (ValueError, RecursionError):
            continue
        while stack and len(found) < 10:
            item = stack.pop()
            if isinstance(item, list):
                stack.extend(reversed(item))
            elif isinstance(item, dict):
                if key in item:
                    found.append(item[key])
                stack.extend(v for v in item.values() if isinstance(v, (dict, list)))
    return found


def _date(value: object) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        d = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return d if d.tzinfo else None
