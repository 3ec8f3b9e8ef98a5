"""Feed documents for tests: realistic RSS and Atom, and hostile ones."""

from __future__ import annotations

import gzip
from collections.abc import Iterator


def rss(items: list[dict[str, str]], *, title: str = "Test Wire", encoding: str = "utf-8") -> bytes:
    body = "".join(
        "<item>"
        + f"<title>{i['title']}</title>"
        + (f"<link>{i['link']}</link>" if "link" in i else "")
        + (f"<guid>{i['guid']}</guid>" if "guid" in i else "")
        + f"<pubDate>{i.get('date', 'Mon, 23 Nov 2026 10:00:00 GMT')}</pubDate>"
        + f"<description>{i.get('summary', '')}</description>"
        + "</item>"
        for i in items
    )
    doc = f'<?xml version="1.0" encoding="{encoding}"?><rss version="2.0"><channel><title>{title}</title><link>http://example.org/</link><description>d</description>{body}</channel></rss>'
    return doc.encode(encoding)


def atom(entries: list[dict[str, str]]) -> bytes:
    body = "".join(
        f"<entry><title>{e['title']}</title><id>{e['id']}</id><link href=\"{e.get('link', '')}\"/>"
        f"<updated>2026-11-23T10:00:00Z</updated><content type=\"html\">{e.get('summary', '')}</content></entry>"
        for e in entries
    )
    return f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Atom Wire</title><id>urn:x</id><updated>2026-11-23T10:00:00Z</updated>{body}</feed>'.encode()


def billion_laughs() -> bytes:
    entities = '<!ENTITY lol "lol">' + "".join(f'<!ENTITY lol{i} "{"&lol%s;" % ("" if i == 1 else i - 1) * 10}">' for i in range(1, 10))
    return (
        f'<?xml version="1.0"?><!DOCTYPE rss [{entities}]>'
        '<rss version="2.0"><channel><title>Bomb</title><item><title>&lol9;</title><guid>b1</guid></item></channel></rss>'
    ).encode()


def gzip_bomb(decoded_mb: int = 200) -> bytes:
    """A small gzip stream that inflates to ``decoded_mb`` MB of zeros."""
    return gzip.compress(b"\0" * (decoded_mb * 1024 * 1024), compresslevel=9)


def drip(seconds: float = 60, every: float = 0.2) -> Iterator[bytes]:
    yield b'<?xml version="1.0"?><rss version="2.0"><channel><title>slow</title>'
    import time

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(every)
        yield b" "


def huge(total_mb: int = 100) -> Iterator[bytes]:
    chunk = b"x" * 65536
    for _ in range(total_mb * 16):
        yield chunk
