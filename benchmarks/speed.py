"""Speed on a synthetic corpus: ingest throughput and peak RSS (the real CLI in a subprocess), unchanged
re-ingest, `ForumQA.ask` latency at two index sizes, and the web app's start-up time and peak RSS."""

from __future__ import annotations

import logging
import math
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.corpus import make_questions, write_corpus
from benchmarks.processes import AppProcess, http_post_json, run_measured
from bot import ForumQA
from ingest.pipeline import ingest_paths
from settings import Settings
from store import ChromaIndex, make_embedder, open_index

log = logging.getLogger(__name__)


@dataclass
class SpeedPlan:
    documents: int = 1000  # the first corpus, ingested by the CLI (~3 chunks each)
    large_chunks: int = 10_000  # the corpus is grown to at least this many chunks for the second latency run
    questions: int = 150
    warmup: int = 5
    app_queries: int = 12  # stays under the app's default rate limit (30/minute)
    app_starts: int = 3  # start-up is the median of this many spawns
    embedder: str = Settings.model_fields["embedder"].default


def run_speed(workdir: Path, plan: SpeedPlan) -> dict:
    corpus, store = workdir / "corpus", workdir / "store"
    write_corpus(corpus, plan.documents)
    cli = ["-m", "ingest", "--store", str(store), "--embedder", plan.embedder]
    settings = Settings(_env_file=None, store_dir=store, embedder=plan.embedder, answerer="extractive")
    embedder = make_embedder(settings)
    refinable = embedder.refinable

    log.info("speed: ingesting %s documents with the CLI", plan.documents)
    # A fused embedder's two passes are timed apart: committed (searchable) first, then refined.
    first = _cli_or_raise([*cli, *(["--no-refine"] if refinable else []), str(corpus)])
    found = re.search(r"(\d+) chunks embedded", first.output)
    chunks = int(found.group(1)) if found else 0
    result: dict = {"embedder": plan.embedder, "ingest": {
        "documents": plan.documents, "chunks": chunks, "wall_s": round(first.wall_s, 2),
        "chunks_per_s": round(chunks / first.wall_s, 1), "documents_per_s": round(plan.documents / first.wall_s, 1),
        "peak_rss_mb": round(first.peak_rss_mb, 1), "note": "CLI wall time, start-up and model load included"
        + ("; until every document is committed and searchable (USE-m half of the vectors)" if refinable else ""),
    }}
    if refinable:
        refined = _cli_or_raise([*cli, "--refine"])
        total = first.wall_s + refined.wall_s
        result["refine"] = {
            "chunks": chunks, "wall_s": round(refined.wall_s, 2), "chunks_per_s": round(chunks / refined.wall_s, 1),
            "total_chunks_per_s": round(chunks / total, 1), "peak_rss_mb": round(refined.peak_rss_mb, 1),
            "note": "python -m ingest --refine: the mE5 half of every vector; total: both passes",
        }

    again = run_measured([*cli, str(corpus)])
    index = open_index(settings, embedder)
    start = time.perf_counter()
    report = ingest_paths([corpus], index, settings)
    in_process = time.perf_counter() - start
    result["reingest"] = {
        "documents": plan.documents, "unchanged": report.count("unchanged"), "seconds": round(in_process, 3),
        "cli_wall_s": round(again.wall_s, 2), "cli_peak_rss_mb": round(again.peak_rss_mb, 1),
    }

    questions = make_questions(plan.questions)
    qa = ForumQA(settings, index)
    qa.retriever.lexical_index(wait=True)  # as the app's warm-up: the questions measured do not compete with it
    result["latency"] = [measure_latency(qa, index, questions, plan.warmup)]
    result["growth"] = grow(workdir / "corpus-more", index, settings, plan, chunks / plan.documents)
    qa = ForumQA(settings, index)
    qa.retriever.lexical_index(wait=True)
    result["latency"].append(measure_latency(qa, index, questions, plan.warmup))
    result["app"] = measure_app(store, plan.embedder, questions[: plan.app_queries], plan.app_starts)
    return result


def _cli_or_raise(args: list[str]):
    finished = run_measured(args)
    if finished.returncode != 0:
        raise RuntimeError(f"python {' '.join(args)} failed ({finished.returncode}): {finished.output[-800:]}")
    return finished


def grow(folder: Path, index: ChromaIndex, settings: Settings, plan: SpeedPlan, chunks_per_doc: float) -> dict:
    """Add documents (in-process ingest) until the index holds at least `plan.large_chunks` chunks.

    Not refined: a provisional vector has the same size as a final one, so search costs the same, and refining
    7,000 chunks with mE5 would take most of the run on 2 cores."""
    added_docs = added_chunks = 0
    seconds = 0.0
    first = plan.documents
    while (total := index.chunk_total()) < plan.large_chunks:
        count = max(10, math.ceil((plan.large_chunks - total) / max(chunks_per_doc, 0.5) * 1.02))
        write_corpus(folder, count, first=first)
        first += count
        log.info("speed: adding %s documents (%s chunks so far)", count, total)
        start = time.perf_counter()
        report = ingest_paths([folder], index, settings, refine=False)
        seconds += time.perf_counter() - start
        added_docs += report.count("added")
        added_chunks += report.chunks_embedded
    return {
        "documents_added": added_docs, "chunks_added": added_chunks, "seconds": round(seconds, 2),
        "chunks_per_s": round(added_chunks / seconds, 1) if seconds else None,
        "note": "in-process ingest_paths, not refined",
    }


def measure_latency(qa: ForumQA, index: ChromaIndex, questions: list[str], warmup: int) -> dict:
    """`ForumQA.ask` (retrieval + extractive answer) per question, after `warmup` untimed asks."""
    for question in questions[:warmup]:
        qa.ask(question)
    timings = []
    answered = 0
    for question in questions:
        start = time.perf_counter()
        answer = qa.ask(question)
        timings.append((time.perf_counter() - start) * 1000)
        answered += answer.answered
    ms = np.asarray(timings)
    return {
        "chunks": index.chunk_total(), "documents": len(index.documents(fresh=False)), "questions": len(questions),
        "p50_ms": round(float(np.percentile(ms, 50)), 1), "p95_ms": round(float(np.percentile(ms, 95)), 1),
        "mean_ms": round(float(ms.mean()), 1), "answered": answered,
        "load_average": [round(x, 2) for x in os.getloadavg()],  # other processes on the machine skew latency
    }


def time_to_ready(store: Path, embedder: str, bare: bool) -> float | None:
    """Seconds from spawn to /healthz 200 of app.py, or with `bare` of an echo Gradio chat on FastAPI and
    uvicorn: the floor that the web stack sets before any model or index is loaded."""
    app = AppProcess(store, embedder, bare=bare)
    try:
        return app.wait_ready()
    finally:
        app.stop()


def median_or_none(values: list[float | None]) -> float | None:
    found = [v for v in values if v is not None]
    return round(float(np.median(found)), 2) if len(found) == len(values) else None


def measure_app(store: Path, embedder: str, questions: list[str], starts: int, ask_timeout_s: float = 30.0) -> dict:
    """Start-up: the median of `starts` spawns each of app.py and the bare baseline, alternated (one start
    on a busy 2-core machine can vary by a second); then one more app serves `questions` for the peak RSS.
    first_answer_s: from that app's spawn to its first answer (the warm-up's lexical index may not be built yet)."""
    ours, bare = [], []
    for _ in range(starts):
        bare.append(time_to_ready(store, embedder, bare=True))
        ours.append(time_to_ready(store, embedder, bare=False))
    app = AppProcess(store, embedder)
    try:
        ready = app.wait_ready()
        if ready is None or median_or_none(ours) is None:
            return {"status": "failed", "reason": "no 200 from /healthz within 60 s", "output": app.output_tail()}
        statuses, first_answer = [], None
        for question in questions:
            statuses.append(http_post_json(f"{app.base}/api/ask", {"question": question, "lang": "auto"},
                                           timeout=ask_timeout_s))
            first_answer = first_answer or time.perf_counter() - app.started
        return {
            "status": "ok", "ready_s": median_or_none(ours), "ready_runs_s": [round(v, 2) for v in ours],
            "bare_gradio_ready_s": median_or_none(bare), "first_answer_s": round(first_answer or 0.0, 2),
            "queries": len(statuses),
            "queries_ok": sum(s == 200 for s in statuses), "query_statuses": sorted(set(statuses)),
            "peak_rss_mb": round(app.peak_rss_mb() or 0.0, 1),
        }
    finally:
        app.stop()
