"""The backfill at scale: 50,000 generated article files, with and without Prefect, on Dask.

Each phase runs in a fresh subprocess (its own state store and its own peak memory):

- pure pipeline: ``process_files`` over 500-file chunks, then one ``drain`` of the outbox, no
  Prefect (10,000 and 50,000 files: memory must stay flat);
- the ``backfill`` flow on the ephemeral API, timed after the API is up (a warm-up run starts it);
- the flow on a running local Dask cluster of 1 and of 2 worker processes (started first, as
  ``--dask ADDRESS`` would find it; the workers report to the flow's ephemeral API);
- the cold start of ``tocsin monitor --once`` with no feeds: the whole command, as a user waits,
  with a new ``PREFECT_HOME`` (the API's database is created) and again with that one.

    python bench/backfill.py [--articles 50000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WATCHLIST = ROOT / "deployments" / "watchlist.yaml"
MENTIONS = ["Kata'ib Hezbollah", "the Houthis", "Asaib Ahl al-Haq", "Iran", "Hezbollah", "the Popular Mobilization Forces", "Qais Khazali"]
THREATS = ["said American bases will be targeted", "threatened to retaliate", "claimed a drone attack on a base", "denied any role"]
WORDS = "the of and to in that is was for on with as by at from officials said region security forces government week talks".split()


def make_corpus(directory: Path, n: int, seed: int = 11) -> None:
    rng = random.Random(seed)
    for i in range(n):
        story = rng.randrange(n // 3 + 1)  # stories repeat across "outlets"
        r = random.Random(story)
        body = [
            f"{r.choice(MENTIONS)} {r.choice(THREATS)} on {r.choice(['Monday', 'Tuesday', 'Friday'])}, in case {story}.",
            " ".join(r.choice(WORDS) for _ in range(120)) + f" {story}.",
            " ".join(r.choice(WORDS) for _ in range(80)) + ".",
        ]
        (directory / f"{i:06d}_{i:016x}.txt").write_text(f"Story {story} headline from outlet {i % 7}\nWire {i % 7}/ " + "\n".join(body) + "\n")


def phase(name: str, corpus: str, state: str) -> dict[str, float]:
    """Run one measured phase here, in this process."""
    started = time.perf_counter()
    if name.startswith("pure"):
        from flows.ingest.articles import iter_article_paths
        from flows.pipeline import Config, process_files

        from extractors.watchlist import load_watchlist
        from flows.store.db import connect
        from flows.store.outbox import drain

        config = Config(str(WATCHLIST), state)
        paths = list(map(str, iter_article_paths([corpus])))
        alerts = 0
        for i in range(0, len(paths), 500):
            alerts += process_files(config, paths[i : i + 500]).alerts
        scanned = time.perf_counter()
        drain(connect(state), load_watchlist(WATCHLIST))  # deliver, as the flow does
        result = {"alerts": alerts, "deliver_seconds": time.perf_counter() - scanned}
    else:
        from prefect import flow

        from flows.monitor import backfill, dask_runner

        flow(name="warm-up")(lambda: None)()  # starts the ephemeral API: not part of the timing
        runner = backfill
        if name != "flow":  # a running cluster, as `--dask ADDRESS` uses one: its start-up is not part of the timing
            from distributed import LocalCluster

            cluster = LocalCluster(n_workers=int(name[-1]), processes=True, threads_per_worker=1, dashboard_address=None)
            runner = backfill.with_options(task_runner=dask_runner(cluster.scheduler_address))
        started = time.perf_counter()
        summary = runner(path=corpus, watchlist=str(WATCHLIST), state_url=state)
        result = {"alerts": sum(summary["alerts"].values())}
    result["seconds"] = time.perf_counter() - started
    result["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def run_phase(name: str, corpus: Path, tmp: Path) -> dict[str, float]:
    env = {**os.environ, "TOCSIN_HOME": str(tmp / "home"), "PREFECT_HOME": str(tmp / "prefect"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PYTHONPATH": str(ROOT)}
    state = f"sqlite:///{tmp / (name + '.db')}"
    out = subprocess.run([sys.executable, __file__, "--phase", name, "--corpus", str(corpus), "--state", state],
                         env=env, capture_output=True, text=True, timeout=3600)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode or not lines:
        raise SystemExit(f"phase {name} failed:\n{out.stderr[-3000:]}")
    return json.loads(lines[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, default=50_000)
    ap.add_argument("--phase")
    ap.add_argument("--corpus")
    ap.add_argument("--state")
    args = ap.parse_args()
    if args.phase:
        print(json.dumps(phase(args.phase, args.corpus, args.state)))
        return

    with tempfile.TemporaryDirectory(prefix="tocsin-backfill-") as t:
        tmp = Path(t)
        small, big = tmp / "small", tmp / "big"
        small.mkdir()
        big.mkdir()
        make_corpus(small, args.articles // 5)
        make_corpus(big, args.articles)
        mb = sum(f.stat().st_size for f in big.iterdir()) / 1e6
        print(f"corpus: {args.articles} files ({mb:.0f} MB), default watch list")

        def show(label: str, r: dict[str, float]) -> None:
            print(f"{label:<40} {r['seconds']:7.1f} s   {r['alerts']:6.0f} alerts   peak RSS {r['maxrss_mb']:6.0f} MB")

        (tmp / "s").mkdir()
        pure_small = run_phase("pure", small, tmp / "s")
        show(f"pure pipeline, {args.articles // 5} files", pure_small)
        pure = run_phase("pure", big, tmp)
        show(f"pure pipeline, {args.articles} files", pure)
        print(f"  of which delivery to the default channel: {pure['deliver_seconds']:.1f} s")
        flow_small = run_phase("flow", small, tmp / "s")
        show(f"backfill flow (ephemeral API), {args.articles // 5} files", flow_small)
        flow = run_phase("flow", big, tmp)
        show(f"backfill flow (ephemeral API), {args.articles} files", flow)
        dask1 = run_phase("dask1", big, tmp)
        show("backfill flow, Dask, 1 worker", dask1)
        dask2 = run_phase("dask2", big, tmp)
        show("backfill flow, Dask, 2 workers", dask2)
        print(f"flow / pure: {flow['seconds'] / pure['seconds']:.2f} (target <= 1.25)")
        print(f"Dask 1 worker / 2 workers: {dask1['seconds'] / dask2['seconds']:.2f}x (target >= 1.6)")
        print(f"peak memory {args.articles // 5} -> {args.articles} files: pure {pure_small['maxrss_mb']:.0f} -> {pure['maxrss_mb']:.0f} MB, "
              f"flow {flow_small['maxrss_mb']:.0f} -> {flow['maxrss_mb']:.0f} MB (target < 1 GB, flat)")

        feeds = tmp / "nofeeds.yaml"
        feeds.write_text("version: 1\nfeeds: []\n")
        env = {**os.environ, "TOCSIN_HOME": str(tmp / "home"), "PREFECT_HOME": str(tmp / "prefect2"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
        for when in ("new PREFECT_HOME", "existing PREFECT_HOME"):
            started = time.perf_counter()
            subprocess.run([str(Path(sys.executable).parent / "tocsin"), "monitor", "--once", "--feeds", str(feeds), "--watchlist", str(WATCHLIST)],
                           env=env, capture_output=True, check=True, cwd=ROOT)
            print(f"cold start of `tocsin monitor --once`, nothing to do, {when}: {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
