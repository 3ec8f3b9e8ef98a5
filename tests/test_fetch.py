"""The hardened fetcher against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import gzip
import ipaddress
import time

import pytest

from flows.ingest.fetch import USER_AGENT, Fetched, Fetcher, Limits, is_public
from tests.feeds_fixtures import gzip_bomb, huge
from tests.feedserver import FeedServer, conditional, drip, redirect, respond
from tests.feedserver import feed_server  # noqa: F401  (the fixture)

LIMITS = Limits(total_timeout=1.0, read_timeout=0.5, connect_timeout=0.5, max_bytes=1024 * 1024, max_redirects=3)


def fetch(url: str, limits: Limits = LIMITS, **kw: object) -> Fetched:
    fetcher_kw = {k: kw.pop(k) for k in ("resolver", "allowed") if k in kw}

    async def run() -> Fetched:
        async with Fetcher(limits, **fetcher_kw) as f:  # type: ignore[arg-type]
            return await f.get(url, **kw)  # type: ignore[arg-type]

    return asyncio.run(run())


def test_plain_get_keeps_validators_and_sends_user_agent(feed_server: FeedServer) -> None:
    feed_server.routes["/f"] = conditional(b"<rss/>", etag='"v1"', last_modified="Mon, 23 Nov 2026 10:00:00 GMT")
    got = fetch(feed_server.url + "/f")
    assert got.ok and got.body == b"<rss/>"
    assert (got.etag, got.last_modified) == ('"v1"', "Mon, 23 Nov 2026 10:00:00 GMT")
    assert feed_server.requests[0].headers["User-Agent"] == USER_AGENT


def test_conditional_get_answers_304_without_body(feed_server: FeedServer) -> None:
    feed_server.routes["/f"] = conditional(b"<rss/>", etag='"v1"')
    got = fetch(feed_server.url + "/f", etag='"v1"', last_modified="Mon, 23 Nov 2026 10:00:00 GMT")
    assert (got.status, got.body, got.error) == (304, b"", None)
    assert feed_server.requests[0].headers["If-None-Match"] == '"v1"'
    assert feed_server.requests[0].headers["If-Modified-Since"] == "Mon, 23 Nov 2026 10:00:00 GMT"


def test_redirects_are_followed_to_a_limit(feed_server: FeedServer) -> None:
    feed_server.routes.update({"/a": redirect("/b"), "/b": redirect("/c", 301), "/c": b"done"})
    feed_server.routes.update({"/loop": redirect("/loop2"), "/loop2": redirect("/loop")})
    got = fetch(feed_server.url + "/a")
    assert got.ok and got.body == b"done" and got.url == feed_server.url + "/c"
    got = fetch(feed_server.url + "/loop")
    assert got.error == "too many redirects (3)"
    assert feed_server.hits("/loop") + feed_server.hits("/loop2") == 4


def test_a_slow_drip_ends_at_the_total_timeout(feed_server: FeedServer) -> None:
    feed_server.routes["/drip"] = drip(every=0.1)
    started = time.monotonic()
    got = fetch(feed_server.url + "/drip")
    assert got.error == "timeout after 1s"
    assert time.monotonic() - started < 3


def test_a_100_mb_response_is_cut_off_at_the_limit(feed_server: FeedServer) -> None:
    feed_server.routes["/huge"] = respond(huge(100))
    feed_server.routes["/declared"] = respond(b"x" * (2 * 1024 * 1024))
    got = fetch(feed_server.url + "/huge")
    assert got.error == "response larger than 1 MB" and got.body == b""
    assert feed_server.wait_idle()
    assert feed_server.sent["/huge"] < 20 * 1024 * 1024
    assert fetch(feed_server.url + "/declared").error == "response larger than 1 MB (declared 2 MB)"


def test_a_gzip_bomb_is_cut_off_after_decompression(feed_server: FeedServer) -> None:
    feed_server.routes["/bomb"] = respond(gzip_bomb(200), headers={"Content-Encoding": "gzip"})
    feed_server.routes["/small"] = respond(gzip.compress(b"<rss>fine</rss>"), headers={"Content-Encoding": "gzip"})
    got = fetch(feed_server.url + "/bomb")
    assert got.error == "response larger than 1 MB"
    assert fetch(feed_server.url + "/small").body == b"<rss>fine</rss>"


def test_error_statuses_and_dead_hosts_are_reasons(feed_server: FeedServer) -> None:
    feed_server.routes["/boom"] = respond(b"oops", status=500)
    assert fetch(feed_server.url + "/boom").error == "HTTP 500"
    assert fetch(feed_server.url + "/missing").error == "HTTP 404"
    assert fetch("http://127.0.0.1:9/").error == "connection refused"
    assert fetch("ftp://example.org/x").error == "not an http(s) address: ftp://example.org/x"
    started = time.monotonic()
    assert fetch("http://no-such-host.invalid/rss").error == "cannot resolve host"
    assert fetch("http://no-such-host.invalid/rss", guard=True).error == "cannot resolve host no-such-host.invalid"
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("address", ["127.0.0.1", "10.0.0.1", "169.254.169.254", "192.168.1.1", "[::1]", "0.0.0.0", "224.0.0.1"])
def test_the_guard_refuses_non_public_addresses(address: str) -> None:
    got = fetch(f"http://{address}/x", guard=True)
    assert got.error == f"refused private address {address.strip('[]')}"


def test_the_guard_refuses_names_resolving_to_private_addresses() -> None:
    async def resolver(host: str, port: int) -> list[str]:
        return {"intranet.example": ["93.184.216.34", "10.1.2.3"]}[host]

    got = fetch("https://intranet.example/x", guard=True, resolver=resolver)
    assert got.error == "refused private address 10.1.2.3 (for intranet.example)"


def test_every_redirect_hop_is_checked_before_connecting(feed_server: FeedServer) -> None:
    """``news.example`` resolves to a public address (here the test server, declared public); it
    redirects to a private address, then to a name that resolves to one: both refused, unvisited."""
    names = {"news.example": ["127.0.0.1"], "internal.example": ["10.0.0.1"]}

    async def resolver(host: str, port: int) -> list[str]:
        return names[host]

    public = frozenset({"127.0.0.1"})
    feed_server.routes["/to-ip"] = redirect("http://10.0.0.1/admin")
    feed_server.routes["/to-name"] = redirect("http://internal.example/admin")
    feed_server.routes["/page"] = b"<p>public page</p>"
    base = f"http://news.example:{feed_server.port}"
    assert fetch(base + "/page", guard=True, resolver=resolver, allowed=public).body == b"<p>public page</p>"
    assert feed_server.requests[-1].headers["Host"] == f"news.example:{feed_server.port}"
    assert fetch(base + "/to-ip", guard=True, resolver=resolver, allowed=public).error == "refused private address 10.0.0.1"
    got = fetch(base + "/to-name", guard=True, resolver=resolver, allowed=public)
    assert got.error == "refused private address 10.0.0.1 (for internal.example)"


def test_embedded_ipv4_addresses_are_judged_by_their_ipv4() -> None:
    assert not is_public(ipaddress.ip_address("::ffff:10.0.0.1"))
    assert not is_public(ipaddress.ip_address("64:ff9b::a9fe:a9fe"))  # NAT64 of 169.254.169.254
    assert not is_public(ipaddress.ip_address("2002:7f00:1::"))  # 6to4 of 127.0.0.1
    assert is_public(ipaddress.ip_address("93.184.216.34")) and is_public(ipaddress.ip_address("2606:2800:220:1::"))


def test_per_host_and_global_concurrency_limits(feed_server: FeedServer) -> None:
    feed_server.routes["/slow"] = respond(b"ok", delay=0.3)

    async def run(limits: Limits) -> list[Fetched]:
        async with Fetcher(limits) as f:
            return await asyncio.gather(*(f.get(f"{feed_server.url}/slow?{i}") for i in range(8)))

    assert all(r.ok for r in asyncio.run(run(Limits(concurrency=32, per_host=2))))
    assert feed_server.max_active == 2
    feed_server.max_active = 0
    assert all(r.ok for r in asyncio.run(run(Limits(concurrency=3, per_host=8))))
    assert feed_server.max_active == 3
