"""Polite, hardened HTTP fetching on one httpx client.

Every fetch is bounded: a global and a per-host concurrency limit, connect and
read timeouts and a total deadline around the whole streamed read (a server that
drips one byte a second is cut off), a size limit counted on the decoded bytes
(a gzip bomb stops at the limit), and a redirect limit. Redirects are followed
here, hop by hop, so that for untrusted links (article pages named by feeds)
every hop is checked, and for a listed feed at a public address every redirect:
a host that resolves to a private, loopback, link-local, reserved, multicast or
unspecified address is refused before any connection,
and the connection goes to the address that was checked (no DNS rebinding in
between). A failure never raises: it is a one-line reason.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import zlib
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

USER_AGENT = "tocsin/0.1 (+https://github.com/tocsin/tocsin)"
KEPT_HEADERS = ("etag", "last-modified", "content-type", "content-location")
Resolver = Callable[[str, int], Awaitable[list[str]]]


@dataclass(frozen=True)
class Limits:
    concurrency: int = 64
    per_host: int = 4
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    total_timeout: float = 30.0
    max_bytes: int = 5 * 1024 * 1024
    max_redirects: int = 5


@dataclass
class Fetched:
    """One fetch: ``url`` is the final address (after redirects); ``error`` a reason, or None."""

    url: str
    status: int | None = None
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)  # KEPT_HEADERS only, lower-case names
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.status == 200

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("last-modified")


class Refused(Exception):
    pass


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [info[4][0] for info in infos]


class Fetcher:
    """``async with Fetcher(limits) as f: await f.get(url, ...)``.

    ``resolver`` and ``allowed`` (addresses to treat as public) exist for tests of the guard."""

    def __init__(self, limits: Limits = Limits(), *, resolver: Resolver = system_resolver, allowed: frozenset[str] = frozenset()) -> None:
        self.limits = limits
        self.resolver = resolver
        self.allowed = allowed
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

    async def get(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None, guard: bool = False, guard_redirects: bool = False
    ) -> Fetched:
        """GET ``url`` (conditionally, given validators); with ``guard``, refuse every hop whose
        host is not a public address. With ``guard_redirects`` (a trusted address, such as a
        listed feed), the first hop is not checked, but if it is a public address, every
        redirect from it is: a public feed cannot send tocsin to a private one."""
        try:
            async with asyncio.timeout(self.limits.total_timeout):
                return await self._get(url, etag, last_modified, guard, guard_redirects)
        except TimeoutError:
            return Fetched(url, error=f"timeout after {self.limits.total_timeout:g}s")
        except Refused as exc:
            return Fetched(url, error=str(exc))
        except httpx.TimeoutException:
            return Fetched(url, error="timeout while connecting or reading")
        except httpx.ConnectError as exc:
            return Fetched(url, error=_connect_reason(exc))
        except (httpx.HTTPError, httpx.InvalidURL, OSError, ValueError) as exc:
            return Fetched(url, error=f"{type(exc).__name__}: {str(exc)[:200] or 'request failed'}")

    async def _get(self, url: str, etag: str | None, last_modified: str | None, guard: bool, guard_redirects: bool) -> Fetched:
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        for hop in range(self.limits.max_redirects + 1):
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise Refused(f"not an http(s) address: {url[:200]}")
            if hop == 0 and guard_redirects and not guard:
                guard = await self._is_public_host(parts)  # from here on: the checked address, every hop
            target, extensions, hop_headers = url, {}, headers
            if guard:
                address = await self._public_address(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
                target = _with_host(parts, address)
                extensions = {"sni_hostname": parts.hostname} if parts.scheme == "https" else {}
                hop_headers = {**headers, "Host": parts.netloc.rpartition("@")[2]}
            async with self._hosts[parts.hostname], self._all:
                request = self._client.build_request("GET", target, headers=hop_headers, extensions=extensions)
                response = await self._client.send(request, stream=True)
                try:
                    if response.status_code in (301, 302, 303, 307, 308) and "location" in response.headers:
                        url = urljoin(url, response.headers["location"])
                        continue
                    kept = {k: response.headers[k] for k in KEPT_HEADERS if k in response.headers}
                    if response.status_code == 304:
                        return Fetched(url, 304, headers=kept)
                    if response.status_code != 200:
                        return Fetched(url, response.status_code, headers=kept, error=f"HTTP {response.status_code}")
                    return Fetched(url, 200, await self._read(response), kept)
                finally:
                    await response.aclose()
        raise Refused(f"too many redirects ({self.limits.max_redirects})")

    async def _read(self, response: httpx.Response) -> bytes:
        """The body, decompressed here from the raw stream with a bounded output per step, so that
        no single chunk can inflate past the limit (httpx would inflate a whole chunk at once)."""
        limit = self.limits.max_bytes
        encoding = response.headers.get("content-encoding", "identity").lower().strip()
        declared = response.headers.get("content-length", "")
        if encoding == "identity" and declared.isdigit() and int(declared) > limit:
            raise Refused(f"response larger than {_mb(limit)} (declared {_mb(int(declared))})")
        if encoding not in ("identity", "gzip", "x-gzip", "deflate"):
            raise Refused(f"unsupported content-encoding {encoding[:20]!r}")
        inflate = None if encoding == "identity" else zlib.decompressobj(32 + zlib.MAX_WBITS if "gzip" in encoding else zlib.MAX_WBITS)
        body = bytearray()
        async for chunk in response.aiter_raw():
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

    async def _is_public_host(self, parts) -> bool:  # type: ignore[no-untyped-def]
        try:
            await self._public_address(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
            return True
        except Refused:
            return False

    async def _public_address(self, host: str, port: int) -> str:
        """The address to connect to for ``host``; Refused unless every address it has is public."""
        try:
            addresses = [host.strip("[]")] if _is_ip(host) else await self.resolver(host, port)
        except (OSError, UnicodeError):
            raise Refused(f"cannot resolve host {host}") from None
        if not addresses:
            raise Refused(f"cannot resolve host {host}")
        for a in addresses:
            ip = ipaddress.ip_address(a.split("%")[0])
            if a not in self.allowed and not is_public(ip):
                raise Refused(f"refused private address {ip}" + ("" if str(ip) == host else f" (for {host})"))
        return addresses[0]


_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Globally routable unicast; an IPv6 address embedding an IPv4 one (mapped, 6to4, NAT64)
    is judged by that IPv4 address."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in _NAT64 else None)
        if embedded is not None:
            return is_public(embedded)
    return ip.is_global and not ip.is_multicast


def _with_host(parts, address: str) -> str:  # type: ignore[no-untyped-def]
    host = f"[{address}]" if ":" in address else address
    return urlunsplit((parts.scheme, host + (f":{parts.port}" if parts.port else ""), parts.path, parts.query, ""))


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        return False


def _connect_reason(exc: httpx.ConnectError) -> str:
    causes: list[BaseException] = []
    cause: BaseException | None = exc
    while cause is not None and len(causes) < 10:
        causes.append(cause)
        cause = cause.__cause__ or cause.__context__
    text = " ".join(str(c) for c in causes)
    if any(isinstance(c, socket.gaierror) for c in causes) or any(
        s in text for s in ("Name or service not known", "Temporary failure in name resolution", "nodename nor servname", "No address associated")
    ):
        return "cannot resolve host"
    if any(isinstance(c, ConnectionRefusedError) for c in causes) or "Connection refused" in text:
        return "connection refused"
    return f"cannot connect: {str(exc)[:200]}"


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.0f} MB" if n >= 1024 * 1024 else f"{n} bytes"
