"""The alert outbox at volume: 10,000 alerts enqueued and drained to a local webhook.

Prints, from one run:
- enqueue: alerts recorded per second (inside the article's transaction, as the pipeline does);
- drain to a webhook on 127.0.0.1 (apprise ``json://``): alerts delivered per second, end to end;
- the outbox's own overhead per alert: the same drain to a channel whose send does nothing,
  i.e. claim + mark-sent bookkeeping only.

    python bench/alerts.py [--alerts 10000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from extractors.article import Article  # noqa: E402
from extractors.watchlist import load_watchlist  # noqa: E402
from flows.store import outbox  # noqa: E402
from flows.store.db import connect, stories  # noqa: E402
from flows.deliver.channels import Channel  # noqa: E402


class Hook(BaseHTTPRequestHandler):
    received = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        Hook.received += 1
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def enqueue(engine, n: int, channel: str) -> float:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    alert = {"rule": "threat", "title": "Threat", "severity": "high", "actors": ["kataib-hezbollah"],
             "evidence": [{"text": "Kataib Hezbollah said bases will be targeted.", "start": 0, "end": 45,
                           "terms": [{"text": "will be targeted", "start": 28, "end": 44}]}]}
    started = time.perf_counter()
    for batch in range(0, n, 200):
        with engine.begin() as conn:
            for i in range(batch, min(n, batch + 200)):
                story = conn.execute(stories.insert().values(first_seen=now, title=f"s{i}").returning(stories.c.id)).scalar_one()
                article = Article(id=f"a{i}", title=f"Kataib Hezbollah threat {i}", paragraphs=["x"], source="Wire", url=f"https://wire.example/{i}")
                outbox.enqueue(conn, alert=alert, article=article, story_id=story, entry_id=None, channels=[channel], now=now)
    return time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--alerts", type=int, default=10_000)
    args = ap.parse_args()
    n = args.alerts

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory() as tmp:
        wl = Path(tmp) / "watchlist.yaml"
        wl.write_text(yaml.safe_dump({
            "version": 1, "actors": [], "lexicons": {}, "rules": [],
            "channels": {"hook": f"json://127.0.0.1:{server.server_address[1]}/hook"},
            "delivery": {"digest": []},
        }))
        watchlist = load_watchlist(wl)

        engine = connect(f"sqlite:///{tmp}/hook.db")
        t = enqueue(engine, n, "hook")
        print(f"enqueue ({n} alerts, 200 per transaction):   {n / t:8.0f} alerts/s   ({t:.2f} s)")
        started = time.perf_counter()
        report = outbox.drain(engine, watchlist)
        t_hook = time.perf_counter() - started
        print(f"drain to a local webhook (apprise json://): {n / t_hook:8.0f} alerts/s   ({t_hook:.2f} s; {report}; received {Hook.received})")

        engine = connect(f"sqlite:///{tmp}/noop.db")
        enqueue(engine, n, "hook")
        real_send = Channel.send
        Channel.send = lambda self, alerts, digest=False: None  # type: ignore[method-assign]
        try:
            started = time.perf_counter()
            outbox.drain(engine, watchlist)
            t_noop = time.perf_counter() - started
        finally:
            Channel.send = real_send  # type: ignore[method-assign]
        print(f"drain bookkeeping only (no-op send):        {n / t_noop:8.0f} alerts/s   ({t_noop / n * 1000:.2f} ms per alert)")
        print(f"outbox overhead per alert (enqueue + claim + mark sent): {(t + t_noop) / n * 1000:.2f} ms "
              f"of {(t + t_hook) / n * 1000:.2f} ms end to end")
    server.shutdown()


if __name__ == "__main__":
    main()
