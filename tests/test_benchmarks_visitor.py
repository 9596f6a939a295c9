"""The visitor set (issue 10): the real report among XQuAD articles, asked through /api/ask as visitors would.

The slow test runs `python -m benchmarks.visitor` once and holds it to the acceptance targets; the fast ones check
that the question file keeps its promises (languages, refusals, follow-ups, expectations quoted from the report).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from support import subprocess_env

from benchmarks.visitor import SHARED, TARGET_RIGHT, load_questions

REPORT, QUESTIONS = load_questions()
needs_shared = pytest.mark.skipif(not (SHARED / REPORT).is_file(), reason=f"{SHARED / REPORT} not found")


def test_the_set_covers_every_language_refusals_and_follow_ups() -> None:
    assert Counter(q["lang"] for q in QUESTIONS) == {"zh": 14, "es": 14, "en": 14}
    assert sum(not q["answerable"] for q in QUESTIONS) >= 9
    follow_ups = Counter(q["lang"] for q in QUESTIONS if q.get("follows"))
    assert all(follow_ups[lang] >= 2 for lang in ("zh", "es", "en"))
    assert len({q["id"] for q in QUESTIONS}) == len(QUESTIONS)
    for q in QUESTIONS:
        assert bool(q["expected"]) == q["answerable"], q["id"]


@needs_shared
def test_expected_strings_are_quoted_from_the_report() -> None:
    report = (SHARED / REPORT).read_text(encoding="utf-8").casefold()
    for q in QUESTIONS:
        for alternative in q["expected"]:
            assert all(s.casefold() in report for s in alternative), q["id"]


@pytest.fixture(scope="module")
def visitor(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("visitor") / "visitor.json"
    run = subprocess.run(
        [sys.executable, "-m", "benchmarks.visitor", "--json", str(out)],
        cwd=out.parent, env=subprocess_env(), capture_output=True, text=True, timeout=1800,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    result = json.loads(out.read_text(encoding="utf-8"))
    print(run.stdout)  # the per-question table, shown with -s or on failure
    return result


@pytest.mark.slow
@needs_shared
def test_visitor_set_runs_and_every_answer_is_in_the_visitors_language(visitor: dict) -> None:
    assert visitor["status"] == "ok", visitor.get("reason")
    totals, rows = visitor["totals"], visitor["rows"]
    assert totals["questions"] == len(rows) >= 36
    assert totals["language_right"] == totals["questions"], [
        (r["id"], r["answer_language"]) for r in rows if not r["language_right"]]


@pytest.mark.slow
@needs_shared
@pytest.mark.xfail(reason="issue 10 is open: 29/42 right on 2026-11-29 (short zh/es questions about the English "
                   "report refused, tempting questions answered); the targets stay asserted here", strict=False)
def test_visitor_set_meets_the_acceptance_targets(visitor: dict) -> None:
    assert visitor["status"] == "ok", visitor.get("reason")
    totals, rows = visitor["totals"], visitor["rows"]
    wrong = [r["id"] for r in rows if not r["right"]]
    assert totals["right_share"] >= TARGET_RIGHT, f"right {totals['right']}/{totals['questions']}; wrong: {wrong}"
    assert totals["refusals_right"] == totals["unanswerable"], [
        r["id"] for r in rows if not r["answerable"] and r["answered"]]
    assert totals["follow_ups_right"] == totals["follow_ups"], [
        r["id"] for r in rows if r["follows"] and not r["right"]]
    assert totals["language_right"] == totals["questions"], [
        (r["id"], r["answer_language"]) for r in rows if not r["language_right"]]


def test_the_benchmark_skips_cleanly_without_shared(tmp_path: Path) -> None:
    from benchmarks.visitor import run_visitor

    result = run_visitor(tmp_path / "work", shared=tmp_path / "no-shared")
    assert result["status"] == "skipped" and "not found" in result["reason"]
