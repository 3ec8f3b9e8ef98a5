"""The default watch list pages on what the analyst policy says (analyst-dev, when present):
`tocsin eval` meets paging precision >= 0.90 and recall >= 0.95, and the seed still pages."""

from __future__ import annotations

import json

import pytest

from flows.cli import main
from tests.helpers import ROOT, SEED

WATCHLIST = str(ROOT / "deployments" / "watchlist.yaml")
ANALYST_DEV = ROOT.parent / "shared" / "corpora" / "analyst-dev"


@pytest.mark.skipif(not (ANALYST_DEV / "labels.jsonl").exists(), reason="analyst-dev corpus not present")
def test_eval_on_analyst_dev_meets_the_targets(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["eval", str(ANALYST_DEV / "labels.jsonl"), "--watchlist", WATCHLIST, "--format", "json",
                   "--min-precision", "0.90", "--min-recall", "0.95"])
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert status == 0, (report["overall"], err)
    assert report["articles"] == 150
    assert report["overall"]["precision"] >= 0.90 and report["overall"]["recall"] >= 0.95


def test_seed_pages_citing_will_be_targeted(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", str(SEED), "--watchlist", WATCHLIST]) == 0
    result = json.loads(capsys.readouterr().out)
    high = [a for a in result["alerts"] if a["rule"] == "armed-group-threat"]
    assert high and high[0]["severity"] == "high"
    assert any("will be targeted" in e["text"] and "Coordination Council" in e["text"] for e in high[0]["evidence"])
