"""Soak: N monitor cycles against a hostile feed server on 127.0.0.1, with random SIGKILLs.

Each cycle is a fresh process doing what ``monitor`` does (poll, record in batches with the
feeds' validators, deliver to a webhook), without Prefect; the parent SIGKILLs it at a random
moment in about half the cycles. The feeds mix the cases of issue 10: new items behind an
ETag, NUL and lone surrogates, bad character references, items sharing a GUID, short
incidents and their copies, one story under hundreds of links, a flood of items, an empty
body. Every alerting story carries a token ("S123") in its title, so what reaches the webhook
can be checked against what was served.

    .venv/bin/python bench/soak.py --cycles 20

Prints, per cycle: whether and when it was killed, entries recorded, store size and growth;
then alerts expected / delivered / lost / duplicated (the same alert key twice: only a kill
between a send and its record may cause one), and stories split (one token under two keys).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TOKEN = re.compile(r"\bS(\d+)\b")
PLACES = ["Erbil", "Syria", "Baghdad", "Basra", "Kirkuk", "Mosul", "Tanf", "Harir", "Duhok", "Najaf"]
LEASE_SECONDS = 10  # the children's delivery lease: kills' claims come back within the soak


def child(state_url: str, watchlist: str, feeds_path: str, later_hours: float) -> None:
    """One monitor cycle, announcing each phase on stdout."""
    from datetime import UTC, datetime, timedelta

    from extractors.feedlist import load_feeds
    from extractors.watchlist import load_watchlist
    from flows.ingest.feeds import poll_feeds_sync
    from flows.pipeline import Config, polled_batches, process_batch
    from flows.store import outbox
    from flows.store.db import connect

    outbox.LEASE = timedelta(seconds=LEASE_SECONDS)
    config = Config(watchlist, state_url)
    print("poll", flush=True)
    report = poll_feeds_sync(load_feeds(feeds_path).feeds, connect(state_url))
    print("record", flush=True)
    for pairs, validators in polled_batches(report.items, report.validators, 200):
        process_batch(config, pairs, feeds=validators)
    print("deliver", flush=True)
    outbox.drain(connect(state_url), load_watchlist(watchlist), now=datetime.now(UTC) + timedelta(hours=later_hours))
    print("done", flush=True)


class Feeds:
    """The hostile feed documents, growing cycle by cycle; ``expected`` the tokens that must alert."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.token = 0
        self.expected: set[int] = set()
        self.docs: dict[str, list[dict[str, str]]] = {k: [] for k in ("wire", "nul", "badref", "sloppy", "short", "copies")}
        self.json_items: list[dict[str, str]] = []
        from tests import feeds_fixtures as fx

        self.fx = fx
        # a flood of tiny items that alert nobody (the caps hold most over to later polls) ...
        server.routes["/flood"] = fx.rss([{"title": f"Market report {n}", "guid": f"urn:m{n}", "summary": f"prices {n}"} for n in range(3000)])
        # ... one story under 300 links, an empty body
        echo = self.new_token()
        server.routes["/echo"] = fx.rss([{"title": f"Kataib Hezbollah threatens the embassy S{echo}", "guid": f"urn:e{n}",
                                          "link": f"http://echo{n}.example/s", "summary": "Kataib Hezbollah issued a threat."} for n in range(300)])
        server.routes["/empty"] = b""

    def new_token(self) -> int:
        self.token += 1
        self.expected.add(self.token)
        return self.token

    def grow(self, cycle: int) -> None:
        from tests.feedserver import conditional

        fx = self.fx
        for _ in range(3):
            t = self.new_token()
            self.docs["wire"].append({"title": f"Kataib Hezbollah threatens base S{t}", "guid": f"urn:w{t}",
                                      "summary": " ".join(f"w{t}x{j}" for j in range(40))})
        self.server.routes["/wire"] = conditional(fx.rss(self.docs["wire"]), etag=f'"c{cycle}"')
        t = self.new_token()
        self.json_items.append({"id": f"j{t}\u0000", "title": f"Kataib Hezbollah threat\u0000 S{t}",
                                "content_text": f"lone \ud800 surrogate \u001b[31m and j{t} words"})
        self.server.routes["/nul"] = json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "J", "items": self.json_items}).encode()
        t, u = self.new_token(), self.new_token()
        self.docs["badref"] += [{"title": f"Kataib Hezbollah threatens port S{t}", "guid": f"urn:b{t}"},
                                {"title": f"Kataib Hezbollah threat &#xD800; &#x110000; S{u}", "guid": f"urn:b{u}"}]
        self.server.routes["/badref"] = fx.rss(self.docs["badref"])
        t = self.new_token()
        self.docs["sloppy"].append({"title": f"Kataib Hezbollah threatens convoy S{t}", "guid": "http://outlet.example/",
                                    "link": f"http://outlet.example/{t}"})
        self.server.routes["/sloppy"] = fx.rss(self.docs["sloppy"])
        for _ in range(2):
            t = self.new_token()
            place, killed = PLACES[t % len(PLACES)], t % 7 + 2
            item = {"title": f"Kataib Hezbollah threatens more after drone attack on US base in {place} S{t}", "guid": f"urn:s{t}",
                    "summary": f"A drone attack on the US base in {place} killed {killed} people, and Kataib Hezbollah threatened more."}
            self.docs["short"].append(item)
            self.docs["copies"].append({**item, "summary": item["summary"].replace(place, f"{place}, Iraq", 1)})
        self.server.routes["/short"] = fx.rss(self.docs["short"])
        self.server.routes["/copies"] = fx.rss(self.docs["copies"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cycles", type=int, default=20)
    ap.add_argument("--kill-rate", type=float, default=0.5, help="share of cycles killed at a random moment")
    ap.add_argument("--seed", type=int, default=20261202)
    ap.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child[:3], float(args.child[3]))
        return

    from tests.feedserver import FeedServer
    from tests.servers import HTTPServer, respond

    rng = random.Random(args.seed)
    server, hook = FeedServer(), HTTPServer()
    hook.routes["/hook"] = respond(b"ok", delay=0.02)
    hook._server.handle_error = lambda *a: None  # a killed sender hangs up: not news here
    feeds = Feeds(server)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "state.db"
        state_url = f"sqlite:///{db}"
        watchlist, feeds_path = Path(tmp) / "watchlist.yaml", Path(tmp) / "feeds.yaml"
        watchlist.write_text(yaml.safe_dump({
            "version": 1,
            "actors": [{"id": "kataib-hezbollah", "name": "Kataib Hezbollah", "kind": "armed-group"}],
            "lexicons": {"threat": ["threat*"]},
            "rules": [{"id": "threat", "title": "Threat", "severity": "high", "query": "kind:armed-group NEAR/15 lexicon:threat"}],
            "channels": {"hook": f"json://127.0.0.1:{hook.url.rsplit(':', 1)[1]}/hook"},
        }))
        names = ["wire", "nul", "badref", "sloppy", "short", "copies", "flood", "echo", "empty"]
        feeds_path.write_text(yaml.safe_dump({"version": 1, "feeds": [{"id": n, "name": n.title(), "url": f"{server.url}/{n}"} for n in names]}))
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        kills: Counter[str] = Counter()
        typical = 6.0  # seconds of work in a cycle, measured on the last unkilled one
        previous = 0
        print(f"{args.cycles} cycles, kill rate {args.kill_rate}, seed {args.seed}; feeds: {', '.join(names)}")
        print(f"{'cycle':>5} {'outcome':<22} {'seconds':>7} {'entries':>8} {'store KB':>9} {'growth KB':>9}")
        for cycle in range(args.cycles + 2):
            final = cycle >= args.cycles  # two clean cycles at the end, the last draining after the leases
            if not final:
                feeds.grow(cycle)
            later = "1" if cycle == args.cycles + 1 else "0"
            started = time.monotonic()
            proc = subprocess.Popen([sys.executable, __file__, "--child", state_url, str(watchlist), str(feeds_path), later],
                                    cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            # a moment within the cycle's work, counted from the end of its start-up (imports)
            kill_at = rng.uniform(0, typical) if not final and rng.random() < args.kill_rate else None
            phase, working = "", None
            outcome = "done"
            os.set_blocking(proc.stdout.fileno(), False)  # type: ignore[union-attr]
            while proc.poll() is None:
                phase = _last_phase(proc, phase)
                if phase and working is None:
                    working = time.monotonic()
                if kill_at is not None and working is not None and time.monotonic() - working >= kill_at:
                    proc.send_signal(signal.SIGKILL)
                    proc.wait()
                    outcome = f"killed in {phase or 'start-up'}"
                    kills[phase or "start-up"] += 1
                    break
                time.sleep(0.01)
            phase = _last_phase(proc, phase)
            if outcome == "done" and proc.returncode != 0:
                outcome = f"exit {proc.returncode}"
            seconds = time.monotonic() - started
            if outcome == "done" and working is not None:
                typical = max(1.0, time.monotonic() - working)
            size = sum(p.stat().st_size for p in Path(tmp).glob("state.db*") if p.suffix != ".writer-lock")
            print(f"{cycle + 1:>5} {outcome:<22} {seconds:>7.1f} {_entries(db):>8} {size / 1024:>9.0f} {(size - previous) / 1024:>9.0f}")
            previous = size
        received = [p for p in hook.posted_json("/hook") if not p.get("digest")]
    server.close()
    hook.close()
    by_key = Counter(a["key"] for a in received)
    tokens: dict[int, set[str]] = {}
    for a in received:
        for t in TOKEN.findall(a["article"]["title"]):
            tokens.setdefault(int(t), set()).add(a["key"])
    lost = sorted(feeds.expected - set(tokens))
    duplicated = sum(n - 1 for n in by_key.values())
    split = sum(len(keys) > 1 for keys in tokens.values())
    print(f"kills: {sum(kills.values())} ({', '.join(f'{n} in {p}' for p, n in sorted(kills.items()))})")
    print(f"alerts expected {len(feeds.expected)}, delivered {len(tokens)}, lost {len(lost)}"
          + (f" (tokens {lost[:10]})" if lost else "") + f", duplicated {duplicated} (kills in deliver: {kills['deliver']}),"
          f" stories split {split}")


def _last_phase(proc: subprocess.Popen[str], phase: str) -> str:
    try:
        for line in (proc.stdout.read() or "").split():  # type: ignore[union-attr]
            phase = line
    except (TypeError, OSError):
        pass
    return phase


def _entries(db: Path) -> int:
    import sqlite3

    try:
        with sqlite3.connect(db) as conn:
            return conn.execute("SELECT count(*) FROM entries").fetchone()[0]
    except sqlite3.Error:
        return 0


if __name__ == "__main__":
    main()
