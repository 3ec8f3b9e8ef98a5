"""Short threat items through the store: one alert per incident, however it is worded.

500 short items drawn from 2 wordings x 20 places x 5 days x 10 tolls; items that differ only
in wording are one incident (one story, one alert), any other difference is another incident.

    .venv/bin/python bench/short_stories.py
"""

from __future__ import annotations

import random
import sys
import tempfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from extractors.article import Article  # noqa: E402
from flows.pipeline import Config, process_batch  # noqa: E402

PLACES = ["Erbil", "Syria", "Baghdad", "Basra", "Kirkuk", "Mosul", "Tanf", "Harir", "Duhok", "Najaf", "Karbala", "Anbar",
          "Deir ez-Zor", "Hasakah", "Raqqa", "Sanaa", "Hodeidah", "Aden", "Marib", "Beirut"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
WORDINGS = ["Kataib Hezbollah threatens more strikes after drone attack on US base in {p}",
            "Drone attack on US base in {p}: Kataib Hezbollah threatens further attacks"]


def main() -> None:
    rng = random.Random(7)
    items = rng.sample([(w, p, d, k) for w in WORDINGS for p in PLACES for d in DAYS for k in range(2, 12)], 500)
    incidents = len({item[1:] for item in items})
    with tempfile.TemporaryDirectory() as tmp:
        watchlist = Path(tmp) / "watchlist.yaml"
        watchlist.write_text(yaml.safe_dump({
            "version": 1, "actors": [{"id": "kh", "name": "Kataib Hezbollah", "kind": "armed-group"}],
            "lexicons": {"threat": ["threat*"]},
            "rules": [{"id": "t", "title": "T", "severity": "high", "query": "kind:armed-group NEAR/15 lexicon:threat"}],
        }))
        config = Config(str(watchlist), f"sqlite:///{tmp}/state.db")
        alerts = 0
        for n, (wording, place, day, killed) in enumerate(items):
            article = Article(id=f"a{n}", title=wording.format(p=place), source=f"Outlet {n % 7}",
                              paragraphs=[f"The attack on {day} killed {killed} people, officials said."])
            alerts += process_batch(config, [(f"feed{n % 7}", f"i{n}", article)]).alerts
    print(f"{len(items)} short threat items, {incidents} distinct incidents: {alerts} alerts")


if __name__ == "__main__":
    main()
