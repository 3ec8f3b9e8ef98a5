"""`tocsin scan` and `tocsin check` as a user runs them: the seed's alerts, and bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from flows.cli import main
from tests.helpers import ROOT, SEED


def run(*args: str) -> subprocess.CompletedProcess[str]:
    """The real command line, in a subprocess, from the project root."""
    return subprocess.run(
        [sys.executable, "-m", "flows.cli", *args], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def test_seed_raises_a_high_alert_with_the_will_be_targeted_sentence() -> None:
    proc = run("scan", "seeds/")
    assert proc.returncode == 0, proc.stderr
    [result] = [json.loads(line) for line in proc.stdout.splitlines()]
    assert result["id"] == "000_8363b55586722fd7"
    assert result["path"] == "seeds/000_8363b55586722fd7.txt"
    assert result["source"] == "Shafaq News"
    assert result["published"] is None
    actors = {a["id"] for a in result["actors"]}
    assert {"iran", "israel", "united-states", "hezbollah", "hamas"} <= actors
    assert actors & {"qais-khazali", "asaib-ahl-al-haq"}
    high = [a for a in result["alerts"] if a["severity"] in ("high", "critical")]
    sentences = [e["text"] for a in high for e in a["evidence"]]
    assert any("Iraqi Resistance Coordination Council" in s and "will be targeted" in s for s in sentences)
    text = "\n".join([result["title"], *_paragraphs()])
    for alert in result["alerts"]:
        for e in alert["evidence"]:
            assert text[e["start"] : e["end"]] == e["text"]
            for t in e["terms"]:
                assert text[t["start"] : t["end"]] == t["text"]


def _paragraphs() -> list[str]:
    from extractors.seed import parse_seed

    return parse_seed(SEED.read_text(), id="x").paragraphs


def test_table_format(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", str(SEED), "--format", "table"]) == 0
    out = capsys.readouterr().out
    assert "armed-group-threat (high)" in out


def test_table_cells_carry_no_terminal_escapes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    article = {"id": "esc\x1b[2Jid", "source": "Evil\x1b]8;;http://x\x07 News\r\n", "title": "t",
               "paragraphs": ["Kataib Hezbollah said US bases will be targeted."]}
    (tmp_path / "a.jsonl").write_text(json.dumps(article) + "\n")
    assert main(["scan", str(tmp_path / "a.jsonl"), "--format", "table"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "\r" not in out
    assert "esc [2Jid" in out and "Evil" in out


def test_bad_files_are_reported_and_the_rest_is_scanned(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a_empty.txt").write_text("")
    (tmp_path / "b_binary.txt").write_bytes(b"\x00\x01\x02ELF" * 10)
    with open(tmp_path / "c_huge.txt", "wb") as f:
        f.truncate(50 * 1024 * 1024)  # sparse: 50 MB on paper, nothing on disk
    (tmp_path / "d_latin1.txt").write_bytes("Title\nKata\xefb Hezbollah caf\xe9".encode("latin-1"))
    (tmp_path / "e_good.txt").write_text(SEED.read_text())
    status = main(["scan", str(tmp_path), "--jobs", "1"])
    captured = capsys.readouterr()
    lines = [json.loads(line) for line in captured.out.splitlines()]
    assert status == 1
    assert [line.get("error") for line in lines[:4]] == [
        "empty file",
        "binary file, not an article",
        "file too large (52.4 MB; the limit is 10 MB)",
        "not UTF-8 text (byte 0xef at offset 10)",
    ]
    assert lines[4]["id"] == "000_8363b55586722fd7" or lines[4]["id"] == "e_good"
    assert lines[4]["alerts"]
    errors = captured.err.strip().splitlines()
    assert len(errors) == 4 and all(e.startswith("tocsin: ") and "Traceback" not in e for e in errors)


def test_missing_path_is_an_error_and_others_still_scanned(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", "no/such/dir", str(SEED)]) == 1
    captured = capsys.readouterr()
    assert "no/such/dir: cannot read: no such file or directory" in captured.err
    assert len(captured.out.splitlines()) == 2


def test_parallel_scan_keeps_path_order(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for i in range(300):
        (tmp_path / f"{i:04d}.txt").write_text(f"Title {i}\nIran threatens Hezbollah {i}.\n")
    assert main(["scan", str(tmp_path), "--jobs", "2"]) == 0
    ids = [json.loads(line)["id"] for line in capsys.readouterr().out.splitlines()]
    assert ids == [f"{i:04d}" for i in range(300)]


@pytest.mark.parametrize(
    ("mutation", "message"),
    [
        (("    aliases: [Hashemite Kingdom of Jordan", "    aliasses: [Hashemite Kingdom of Jordan"), "unknown key 'aliasses'"),
        (("AND NOT lexicon:denial\n", "AND NOT (lexicon:denial\n"), "unbalanced parenthesis"),
    ],
)
def test_bad_watch_list_exits_2_with_one_line(tmp_path: Path, mutation: tuple[str, str], message: str) -> None:
    text = (ROOT / "deployments" / "watchlist.yaml").read_text()
    assert mutation[0] in text
    bad = tmp_path / "wl.yaml"
    bad.write_text(text.replace(mutation[0], mutation[1], 1))
    proc = run("scan", "seeds/", "--watchlist", str(bad))
    assert proc.returncode == 2
    assert proc.stdout == ""
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith(f"tocsin: {bad}:") and message in line


def test_check_lists_every_error_and_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "wl.yaml"
    bad.write_text("version: 1\nactors:\n  - {id: a, name: A, kind: k, aliasses: [x]}\nrules:\n  - {id: r, title: R, severity: high, query: 'a b'}\n")
    proc = run("check", "--watchlist", str(bad))
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 2


def test_check_passes_on_the_defaults() -> None:
    proc = run("check")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("ok: ")
