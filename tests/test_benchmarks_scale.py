"""`python -m benchmarks.run --only scale` at a tiny size: the growth benchmark builds its store, keeps it in
--keep, measures every figure the README's scale table shows, and draws the plot. It checks the harness, not
the speed (the targets are for 100,000 chunks)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from support import subprocess_env


@pytest.mark.slow
def test_scale_benchmark_at_a_tiny_size(tmp_path: Path) -> None:
    out, keep = tmp_path / "bench.json", tmp_path / "keep"
    run = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--only", "scale", "--quick", "--sizes", "40",
         "--keep", str(keep), "--out", str(out)],
        cwd=tmp_path, env=subprocess_env(), capture_output=True, text=True, timeout=900,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "## Scale" in run.stdout and "| Chunks" in run.stdout and "## Targets" in run.stdout

    results = json.loads(out.read_text(encoding="utf-8"))
    [row] = results["scale"]["sizes"]
    assert row["chunks"] >= 40 and row["documents"] > 0 and row["disk_mb"] > 0
    assert 0 < row["latency"]["p50_ms"] <= row["latency"]["p95_ms"]
    assert len(row["first_question"]["after_add_ms"]) == 5 and row["first_question"]["after_add_max_ms"] > 0
    assert row["reingest"]["unchanged"] == row["reingest"]["files"] == row["documents"]
    assert row["bm25"]["refresh_s"] >= 0 and row["bm25"]["held_mb"] is not None
    assert row["app"]["status"] == "ok" and row["app"]["ready_s"] > 0 and row["app"]["peak_rss_mb"] > 0
    assert row["baseline"]["chunks"] > 0 and row["baseline"]["p50_ms"] > 0
    assert row["load_average"]
    assert {t["status"] for t in results["targets"]} == {"n/a"}  # the targets are for 100,000 chunks
    assert (keep / "store-40").is_dir()  # kept for the next run
    assert out.with_name("bench-scale.png").stat().st_size > 10_000
