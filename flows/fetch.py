"""Polite, hardened HTTP fetching on one httpx client.

Every fetch is bounded: a global and a per-host concurrency limit, connect and
read timeouts and a total deadline (a server that drips one byte a second is
cut off), a size limit counted on the decoded bytes (a gzip bomb stops at the
limit), and a redirect limit. Redirects are followed here, hop by hop, so that
for untrusted links (article pages named by feeds) every hop's address is
checked: private, loopback, link-local and reserved addresses are refused
before any connection is made. A failure never raises: it is a reason string.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import zlib
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import httpx

USER_AGENT = "tocsin/0.1 (news-threat monitor; +https://github.com/tocsin/tocsin)"
Resolver = Callable[[str, int], Awaitable[list[str]]]


@dataclass(frozen=True)
class Limits:
    concurrency: int = 32
    per_host: int = 4
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    total_timeout: float = 30.0
    max_bytes: int = 5 * 1024 * 1024
    max_redirects: int = 5


@dataclass
class Fetched:
    url: str
    status: int | None = None
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.status == 200


class Refused(Exception):
    pass


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [info[4][0] for info in infos]


class Fetcher:
    """``async with Fetcher(limits) as f: await f.get(url, ...)``."""

    def __init__(self, limits: Limits = Limits(), *, resolver: Resolver = system_resolver, allowed: frozenset[str] = frozenset()) -> None:
        self.limits = limits
        self.resolver = resolver
        self.allowed = allowed  # addresses treated as public (tests)
        self._all = asyncio.Semaphore(limits.concurrency)
        self._hosts: defaultdict[str, asyncio.Semaphore] = defaultdict(lambda: asyncio.Semaphore(limits.per_host))
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(limits.read_timeout, connect=limits.connect_timeout),
            limits=httpx.Limits(max_connections=limits.concurrency, max_keepalive_connections=limits.concurrency),
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"},
            follow_redirects=False,
            trust_env=False,
        )

    async def __aenter__(self) -> "Fetcher":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def get(self, url: str, *, etag: str | None = None, last_modified: str | None = None, guard: bool = False) -> Fetched:
        """GET ``url``; with ``guard``, refuse every hop that resolves to a non-public address."""
        try:
            async with asyncio.timeout(self.limits.total_timeout):
                return await self._get(url, etag, last_modified, guard)
        except TimeoutError:
            return Fetched(url, error=f"timeout after {self.limits.total_timeout:g} s")
        except Refused as exc:
            return Fetched(url, error=str(exc))
        except httpx.TimeoutException:
            return Fetched(url, error="timeout while connecting or reading")
        except httpx.ConnectError as exc:
            return Fetched(url, error=_connect_reason(exc))
        except (httpx.HTTPError, httpx.InvalidURL, OSError, ValueError) as exc:
            return Fetched(url, error=f"{type(exc).__name__}: {str(exc)[:200] or 'request failed'}")

    async def _get(self, url: str, etag: str | None, last_modified: str | None, guard: bool) -> Fetched:
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        for _ in range(self.limits.max_redirects + 1):
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise Refused(f"not an http(s) address: {url[:200]}")
            if guard:
                await self._check_public(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
            async with self._all, self._hosts[parts.hostname]:
                response = await self._client.send(self._client.build_request("GET", url, headers=headers), stream=True)
                try:
                    if response.status_code in (301, 302, 303, 307, 308) and "location" in response.headers:
                        url = urljoin(url, response.headers["location"])
                        continue
                    kept = {k: response.headers[k] for k in ("etag", "last-modified", "content-type", "content-location") if k in response.headers}
                    if response.status_code == 304:
                        return Fetched(url, 304, headers=kept)
                    if response.status_code != 200:
                        return Fetched(url, response.status_code, headers=kept, error=f"HTTP {response.status_code}")
                    return Fetched(url, 200, await self._read(response), kept)
                finally:
                    await response.aclose()
        raise Refused(f"too many redirects (more than {self.limits.max_redirects})")

    async def _read(self, response: httpx.Response) -> bytes:
        """The body, decoded here from raw bytes so that no chunk can inflate past the limit."""
        limit = self.limits.max_bytes
        encoding = response.headers.get("content-encoding", "identity").lower().strip()
        declared = response.headers.get("content-length", "")
        if encoding == "identity" and declared.isdigit() and int(declared) > limit:
            raise Refused(f"response larger than {_mb(limit)} (declared {_mb(int(declared))})")
        if encoding not in ("identity", "gzip", "x-gzip", "deflate"):
            raise Refused(f"unsupported content-encoding {encoding[:20]!r}")
        inflate = None if encoding == "identity" else zlib.decompressobj(32 + zlib.MAX_WBITS if "gzip" in encoding else zlib.MAX_WBITS)
        body = bytearray()
        async for raw in response.aiter_raw():
            chunk = raw
            while chunk:
                if inflate is None:
                    body += chunk
                    chunk = b""
                else:
                    try:
                        body += inflate.decompress(chunk, limit + 1 - len(body))
                    except zlib.error:
                        raise Refused("corrupt compressed response") from None
                    chunk = inflate.unconsumed_tail
                if len(body) > limit:
                    raise Refused(f"response larger than {_mb(limit)}")
        return bytes(body)

    async def _check_public(self, host: str, port: int) -> None:
        try:
            addresses = [host] if _is_ip(host) else await self.resolver(host, port)
        except (OSError, UnicodeError):
            raise Refused(f"cannot resolve host {host}") from None
        for a in addresses:
            ip = ipaddress.ip_address(a.split("%")[0])
            if a not in self.allowed and not ip.is_global:
                raise Refused(f"refused non-public address {ip} for host {host}")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        return False


def _connect_reason(exc: httpx.ConnectError) -> str:
    text = str(exc)
    if "Name or service not known" in text or "Temporary failure in name resolution" in text or "nodename nor servname" in text:
        return "cannot resolve host"
    if "Connection refused" in text:
        return "connection refused"
    return f"cannot connect: {text[:200]}"


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.0f} MB" if n >= 1024 * 1024 else f"{n} bytes"
