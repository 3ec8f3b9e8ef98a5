"""Canonical links and entry identity."""

from __future__ import annotations

import pytest

from extractors.urls import canonical_url, entry_identity


@pytest.mark.parametrize(("url", "canonical"), [
    ("HTTP://Example.COM:80/a?utm_source=x&b=2&a=1#frag", "http://example.com/a?a=1&b=2"),
    ("https://news.example:443", "https://news.example/"),
    ("https://news.example:8443/x", "https://news.example:8443/x"),
    ("https://news.example/x?fbclid=1&gclid=2&mc_cid=3&mc_eid=4&ref=rss&ocid=5&UTM_Medium=y&id=7", "https://news.example/x?id=7"),
    ("https://news.example/x?b=&a=1", "https://news.example/x?a=1&b="),
    ("  https://[2001:DB8::1]:443/x#top ", "https://[2001:db8::1]/x"),
    ("https://user:secret@news.example/x", "https://news.example/x"),
    ("http://news.example:notaport/x", "http://news.example:notaport/x"),
])
def test_canonical_url(url: str, canonical: str) -> None:
    assert canonical_url(url) == canonical


def test_canonical_url_keeps_path_case_and_is_idempotent() -> None:
    url = canonical_url("https://News.example/Story/ID-7?z=1&a=2")
    assert url == "https://news.example/Story/ID-7?a=2&z=1" and canonical_url(url) == url


def test_identity_is_the_guid_else_the_canonical_link_else_a_content_hash() -> None:
    assert entry_identity(" urn:x:1 ", "http://a.example/1", "T") == "urn:x:1"
    assert entry_identity("", "http://A.example/1?utm_campaign=z#c", "T") == "http://a.example/1"
    by_content = entry_identity("", "", "T\nBody")
    assert by_content.startswith("sha256:") and len(by_content) == 7 + 64
    assert by_content == entry_identity("  ", "javascript:alert(1)", "T\nBody")
    assert by_content != entry_identity("", "", "T\nOther body")
