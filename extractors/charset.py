"""HTML bytes to text: which encoding a page is in.

The order is the WHATWG encoding-sniffing order (what browsers do), via w3lib:
a byte-order mark, then the HTTP ``Content-Type`` charset, then a ``<meta charset>``
(or ``http-equiv``) in the first 4 KB, then detection. A BOM wins over the header because
it is a property of the bytes themselves, while a header charset is often a server-wide
default that does not know the file (see docs/extraction.md). Labels are resolved as
browsers resolve them (``latin-1`` and ``ascii`` are windows-1252). Undeclared bytes that
are valid UTF-8 are UTF-8; anything else is detected with chardet (the detector feedparser
uses for feeds, so one detector for both; charset-normalizer took Latin-1 French for cp1250).
Undecodable bytes become U+FFFD, never an error.
"""

from __future__ import annotations

import chardet
from w3lib.encoding import html_to_unicode

_DETECT_BYTES = 64 * 1024  # enough text to judge; detection time grows with the input


def decode_html(body: bytes, content_type: str | None = None) -> str:
    """``body`` as text, by BOM, then ``content_type``'s charset, then ``<meta>``, then detection."""
    _, text = html_to_unicode(content_type, body, auto_detect_fun=detect_encoding)
    return text


def detect_encoding(body: bytes) -> str | None:
    """The encoding of undeclared bytes: UTF-8 when they are valid UTF-8, else chardet's guess."""
    try:
        body.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(body) - 3 and exc.reason == "unexpected end of data":
            return "utf-8"  # cut in the middle of a character (a size limit), still UTF-8
    return chardet.detect(body[:_DETECT_BYTES])["encoding"]
