"""Canonical links and entry identity."""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_TRACKING = {
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "igshid", "mc_cid", "mc_eid",
    "ocid", "cmpid", "ref", "ref_src", "ref_url", "_ga", "_gl", "_hsenc", "_hsmi", "mkt_tok", "smid", "at_medium", "at_campaign",
}


def canonical_url(url: str) -> str:
    """Scheme and host lower-cased, default port, fragment and tracking parameters dropped,
    the remaining query sorted."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:  # an invalid port or IPv6 literal: nothing canonical about it
        return url.strip()
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    host = f"[{host}]" if ":" in host else host
    netloc = host if port is None or (scheme, port) in (("http", 80), ("https", 443)) else f"{host}:{port}"
    query = sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                   if not k.lower().startswith("utm_") and k.lower() not in _TRACKING)
    return urlunsplit((scheme, netloc, parts.path or "/", urlencode(query), ""))


def entry_identity(guid: str, link: str, content: str) -> str:
    """A feed entry's identity: its guid, else its canonical link, else a hash of its content."""
    if guid := guid.strip():
        return guid
    if (link := link.strip()).lower().startswith(("http://", "https://")):
        return canonical_url(link)
    return "sha256:" + hashlib.sha256(content.encode("utf-8", "surrogatepass")).hexdigest()
