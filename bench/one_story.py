"""One story republished under N links (default 20,000), recorded 200 a batch as the monitor
does: the time it takes and the size of its alert's outlet list (capped: outbox.MAX_OUTLETS).

    .venv/bin/python bench/one_story.py [N]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from extractors.article import Article  # noqa: E402
from flows.pipeline import Config, process_batch  # noqa: E402
from flows.store.db import connect  # noqa: E402

BODY = ["Kataib Hezbollah threatened to strike the embassy again, a statement said on Monday."]


def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        watchlist = Path(tmp) / "watchlist.yaml"
        watchlist.write_text(yaml.safe_dump({
            "version": 1, "actors": [{"id": "kh", "name": "Kataib Hezbollah", "kind": "armed-group"}],
            "lexicons": {"threat": ["threat*"]},
            "rules": [{"id": "t", "title": "T", "severity": "high", "query": "kind:armed-group NEAR/15 lexicon:threat"}],
        }))
        config = Config(str(watchlist), f"sqlite:///{tmp}/state.db")
        started = time.perf_counter()
        for start in range(0, n, 200):
            process_batch(config, [
                ("echo", f"http://echo{i}.example/s", Article(id=f"a{i}", title="Kataib Hezbollah threatens the embassy",
                                                              paragraphs=BODY, url=f"http://echo{i}.example/s", source=f"Echo {i}"))
                for i in range(start, min(n, start + 200))
            ])
        took = time.perf_counter() - started
        with connect(config.state_url).begin() as conn:
            size = conn.execute(sa.text("SELECT length(outlets) FROM alerts")).scalar()
    print(f"{n:,} copies of one story: recorded in {took:.1f} s; its alert's outlets {size / 1024:.1f} KB")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20000)
