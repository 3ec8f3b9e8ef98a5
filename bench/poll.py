"""Feed polling at scale: 1,000 feeds of 50 items on 127.0.0.1, 50 ms of added latency.

A separate process serves the feeds on 16 loopback addresses (127.0.0.1–16, one port),
so the poller's per-host limit applies as it would across real outlets, and the
server does not share the poller's CPU. Prints, from one run:

- a full first poll (fetch, parse, build articles; then the entries are recorded,
  untimed, as the monitor would);
- a second poll where every feed answers 304 to its conditional request;
- the baseline: sequential ``feedparser.parse(url)`` over a sample, extrapolated;
- peak memory of the polling process.

    python bench/poll.py [--feeds 1000] [--items 50] [--latency 0.05]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import resource
import socket
import sys
import tempfile
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HOSTS = [f"127.0.0.{i}" for i in range(1, 17)]


def feed_xml(n: int, items: int) -> bytes:
    entries = "".join(
        f"<item><title>Feed {n} story {i}: Kataib Hezbollah threatens bases</title>"
        f"<link>http://outlet{n}.example/story/{i}</link><guid>urn:feed{n}:item{i}</guid>"
        f"<pubDate>{formatdate(1763800000 + i * 60, usegmt=True)}</pubDate>"
        f"<description>&lt;p&gt;Iran-backed militias in Iraq said on Monday that American bases will be targeted "
        f"if strikes continue; story {i} of feed {n}.&lt;/p&gt;&lt;p&gt;Officials urged restraint.&lt;/p&gt;</description></item>"
        for i in range(items)
    )
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Feed {n}</title>'
            f"<link>http://outlet{n}.example/</link><description>d</description>{entries}</channel></rss>").encode()


def serve(port: int, feeds: int, items: int, latency: float, ready: multiprocessing.Event) -> None:  # type: ignore[type-arg]
    bodies = {f"/feed/{n}.xml": feed_xml(n, items) for n in range(feeds)}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            time.sleep(latency)
            body = bodies.get(self.path)
            etag = f'"{self.path}"'
            if body is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("ETag", etag)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    servers = []
    for host in HOSTS:
        s = ThreadingHTTPServer((host, port), Handler)
        s.daemon_threads = True
        s.request_queue_size = 256
        threading.Thread(target=s.serve_forever, daemon=True).start()
        servers.append(s)
    ready.set()
    threading.Event().wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _workers() -> list[int]:
    from flows.ingest import feeds

    return list(feeds._pool._processes) if feeds._pool else []  # type: ignore[attr-defined]


def workers_cpu() -> float:
    """CPU seconds of the poller's parse worker processes (not counted by process_time)."""
    total = 0
    for pid in _workers():
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def workers_peak_mb() -> float:
    peaks = [int(line.split()[1]) for pid in _workers() for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("VmHWM:")]
    return max(peaks, default=0) / 1024


def timed(label: str, fn):  # type: ignore[no-untyped-def]
    wall, cpu, wcpu = time.perf_counter(), time.process_time(), workers_cpu()
    result = fn()
    wall, cpu, wcpu = time.perf_counter() - wall, time.process_time() - cpu, workers_cpu() - wcpu
    print(f"{label:<34} wall {wall:6.2f} s   cpu {cpu:6.2f} s" + (f" + {wcpu:.2f} s in parse workers" if wcpu else ""))
    return result, wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--feeds", type=int, default=1000)
    ap.add_argument("--items", type=int, default=50)
    ap.add_argument("--latency", type=float, default=0.05)
    ap.add_argument("--baseline-sample", type=int, default=100)
    args = ap.parse_args()

    import feedparser

    from extractors.feedlist import Feed
    from extractors.scan import ScanResult
    from flows.store.db import connect
    from flows.store.entries import Item, record_batch
    from flows.ingest.feeds import poll_feeds

    port = free_port()
    ready = multiprocessing.get_context("fork").Event()
    server = multiprocessing.get_context("fork").Process(target=serve, args=(port, args.feeds, args.items, args.latency, ready), daemon=True)
    server.start()
    ready.wait(60)
    feeds = [Feed(id=f"feed-{n}", name=f"Feed {n}", url=f"http://{HOSTS[n % len(HOSTS)]}:{port}/feed/{n}.xml") for n in range(args.feeds)]
    print(f"{args.feeds} feeds x {args.items} items, {args.latency * 1000:.0f} ms latency, served on {len(HOSTS)} loopback addresses")

    with tempfile.TemporaryDirectory() as tmp:
        engine = connect(f"sqlite:///{tmp}/state.db")
        first, t_first = timed("first poll (fetch, parse, articles)", lambda: asyncio.run(poll_feeds(feeds, engine)))
        failed = [r for r in first.results if r.status != "ok"]
        print(f"  {len(first.items)} new items, {sum(r.bytes_parsed for r in first.results) / 1e6:.1f} MB parsed, {len(failed)} feeds failed"
              + (f" (e.g. {failed[0].reason})" if failed else ""))
        print(f"  peak memory so far (max RSS): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
        empty = lambda a: ScanResult(id=a.id, path=None, title=a.title, source=a.source, published=None, actors=[], alerts=[])  # noqa: E731
        timed("  (record entries, not counted)", lambda: record_batch(engine, [Item(i.feed_id, i.identity, i.article, empty(i.article)) for i in first.items], channels_for=lambda r: [], feeds=first.validators))
        second, t_second = timed("second poll (every feed 304)", lambda: asyncio.run(poll_feeds(feeds, engine)))
        print(f"  {len(second.items)} new items, {sum(r.bytes_parsed for r in second.results)} bytes parsed, "
              f"{sum(r.status == 'not-modified' for r in second.results)} not modified")

    sample = feeds[: args.baseline_sample]
    _, t_base = timed(f"baseline feedparser.parse(url) x{len(sample)}", lambda: [feedparser.parse(f.url) for f in sample])
    t_base_all = t_base * args.feeds / len(sample)
    print(f"  baseline extrapolated to {args.feeds} feeds: {t_base_all:.1f} s")
    print(f"ratio baseline / first poll: {t_base_all / t_first:.1f}x")
    print(f"peak memory (max RSS): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB in the poller, "
          f"{workers_peak_mb():.0f} MB in each parse worker at most")
    print("targets: first poll < 15 s, 304 poll < 3 s, peak memory < 500 MB")
    server.terminate()


if __name__ == "__main__":
    main()
