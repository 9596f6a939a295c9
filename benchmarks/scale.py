"""The growth curve (issue 14): `python -m benchmarks.run --only scale [--sizes 1000,10000,100000] [--keep DIR]`.

For each size, a store of that many chunks (benchmarks/scale_corpus.py; built once per --keep folder, then
reused) is measured on a copy: ask latency warm (speed.measure_latency), the first questions after adding one
document (first_question.measure), re-ingest of 1,000 unchanged files, the BM25 refresh (reading the committed
chunks, building the index, and the memory the built index holds), disk size, and the web app's ready time and
peak RSS (speed.measure_app). The plain LangChain RAG (benchmarks/baseline.py) is built over the same files up to
`baseline_up_to` chunks, where its vectors are the same provisional ones as ours."""

from __future__ import annotations

import gc
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from benchmarks import first_question
from benchmarks.baseline import build_baseline_from_files
from benchmarks.corpus import make_questions
from benchmarks.processes import peak_rss_mb, run_measured
from benchmarks.scale_corpus import EMBED_UP_TO, corpus_files
from benchmarks.speed import measure_app, measure_latency
from bot import ForumQA
from ingest.pipeline import ingest_paths
from settings import Settings
from store import NamedEmbeddings, make_embedder, open_index
from textkit.tokens import tokenize

log = logging.getLogger(__name__)
SIZES = (1000, 10_000, 100_000)


@dataclass
class ScalePlan:
    sizes: tuple[int, ...] = SIZES
    questions: int = 90
    warmup: int = 10
    reingest_files: int = 1000
    app_queries: int = 12  # under the app's default rate limit (30/minute)
    app_starts: int = 2
    baseline_up_to: int = EMBED_UP_TO
    embed_up_to: int = EMBED_UP_TO
    embedder: str = Settings.model_fields["embedder"].default


def run_scale(keep: Path, plan: ScalePlan, save=lambda partial: None) -> dict:
    """Every size in `plan`, smallest first; `save` hears the partial result after each."""
    result: dict = {"status": "ok", "embedder": plan.embedder, "keep": str(keep), "embed_up_to": plan.embed_up_to,
                    "sizes": []}
    for size in sorted(plan.sizes):
        store = ensure_store(keep, size, plan.embedder, plan.embed_up_to)
        log.info("scale: measuring %s", store)
        row = measure_size(store, keep / "grow", plan)
        if size <= plan.baseline_up_to:
            row["baseline"] = measure_baseline(keep / "grow", row["documents"], plan)
        result["sizes"].append(row)
        save(result)
    return result


def ensure_store(keep: Path, chunks: int, embedder: str, embed_up_to: int = EMBED_UP_TO) -> Path:
    """keep/store-N: a copy of the growing store (keep/grow) once it holds N chunks, built once and kept."""
    snapshot = keep / f"store-{chunks}"
    if snapshot.is_dir():
        return snapshot
    grown = keep / "grow"
    log.info("scale: growing %s to %s chunks", grown, chunks)
    finished = run_measured(["-m", "benchmarks.scale_corpus", "--store", str(grown), "--chunks", str(chunks),
                             "--embedder", embedder, "--embed-up-to", str(embed_up_to)], timeout_s=4 * 3600)
    if finished.returncode != 0:
        raise RuntimeError(f"growing the store failed: {finished.output[-800:]}")
    partial = keep / f"store-{chunks}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    shutil.copytree(grown, partial, ignore=shutil.ignore_patterns("*.lock"))
    partial.rename(snapshot)
    return snapshot


def measure_size(store: Path, grown: Path, plan: ScalePlan) -> dict:
    """On a copy of `store`, in this order: the BM25 refresh, warm latency, re-ingest, the app (another process),
    and last the first questions after adding a document (its BM25 rebuild may go on in the background)."""
    questions = make_questions(plan.questions)
    row: dict = {"disk_mb": round(disk_mb(store), 1)}
    with tempfile.TemporaryDirectory(prefix="forumqa-scale-") as tmp:
        copy = Path(tmp) / "store"
        shutil.copytree(store, copy, ignore=shutil.ignore_patterns("*.lock"))
        settings = Settings(_env_file=None, store_dir=copy, embedder=plan.embedder, answerer="extractive")
        index = open_index(settings, make_embedder(settings))
        qa = ForumQA(settings, index)
        row |= {"chunks": index.chunk_total(), "documents": len(index.documents(fresh=False))}
        row["bm25"] = measure_bm25(qa)
        row["latency"] = measure_latency(qa, index, questions, plan.warmup)
        files = corpus_files(grown, min(plan.reingest_files, row["documents"]))
        started = time.perf_counter()
        report = ingest_paths(files, index, settings, refine=False)  # the store's provisional vectors stay
        row["reingest"] = {"files": len(files), "unchanged": report.count("unchanged"),
                           "seconds": round(time.perf_counter() - started, 3)}
        row["app"] = measure_app(copy, plan.embedder, questions[: plan.app_queries], plan.app_starts,
                                 ask_timeout_s=1800)
        first = first_question.measure_after_add(qa, settings, Path(tmp) / "new")
        row["first_question"] = first | {"after_add_max_ms": max(first["after_add_ms"], default=None)}
    row["load_average"] = [round(x, 2) for x in os.getloadavg()]
    log.info("scale: %s", row)
    return row


def measure_bm25(qa: ForumQA) -> dict:
    """What the lexical index costs: reading the committed chunks out of the store (and the longest a question's
    index call waited meanwhile), and the whole first build as the app's warm-up waits for it (read and build, the
    tokenizers loaded first); the peak resident memory above the start meanwhile, and the size of what the built
    index holds; then a refresh on that index when no document changed (what every refresh pays whatever it adds:
    comparing the committed records with the versions the index holds)."""
    for language, sample in (("en", "trade grew"), ("es", "el comercio creció"), ("zh", "贸易增长了")):
        tokenize(sample, language)
    gc.collect()
    before = _rss_mb()
    _reset_peak_rss()
    started = time.perf_counter()
    with _LockWaits(qa.retriever.index) as waits:
        sum(1 for _ in qa.retriever.index.iter_committed_chunks())
    read = time.perf_counter() - started
    gc.collect()
    started = time.perf_counter()
    built = qa.retriever.lexical_index(wait=True)
    refresh = time.perf_counter() - started
    peak = peak_rss_mb(os.getpid())
    index = qa.retriever.index
    started = time.perf_counter()
    built.updated({r.doc_id: r for r in index.documents(fresh=False)}, index.chunks_of)
    again = time.perf_counter() - started
    return {"read_s": round(read, 2), "read_lock_wait_max_ms": waits.longest_ms,
            "build_s": round(refresh - read, 2), "refresh_s": round(refresh, 2),
            "refresh_on_previous_s": round(again, 2), "peak_extra_mb": round(peak - before, 1) if peak else None,
            "held_mb": round(deep_size(built) / 2**20, 1)}


class _LockWaits:
    """While the block runs, another thread makes a cheap index call every 20 ms, as questions would: the
    longest it waited is how long the read held the index's lock at once."""

    def __init__(self, index) -> None:
        self.index, self.longest_ms = index, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._probe, daemon=True)

    def _probe(self) -> None:
        while not self._stop.wait(0.02):
            started = time.perf_counter()
            self.index.languages()
            self.longest_ms = max(self.longest_ms, round((time.perf_counter() - started) * 1000, 1))

    def __enter__(self) -> _LockWaits:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def deep_size(root: object) -> int:
    """Bytes of `root` and everything it references (each object once; numpy arrays by their buffers)."""
    seen: set[int] = set()
    todo, total = [root], 0
    while todo:
        value = todo.pop()
        if id(value) in seen or isinstance(value, type):
            continue
        seen.add(id(value))
        total += sys.getsizeof(value)
        if isinstance(value, np.ndarray):
            total += 0 if value.base is None else value.nbytes  # an owning array's getsizeof counts its data
        elif isinstance(value, dict):
            todo += [*value.keys(), *value.values()]
        elif isinstance(value, list | tuple | set | frozenset):
            todo += list(value)
        elif hasattr(value, "__dict__"):
            todo.append(vars(value))
        elif hasattr(value, "__slots__"):
            todo += [getattr(value, name) for name in value.__slots__ if hasattr(value, name)]
    return total


def measure_baseline(grown: Path, documents: int, plan: ScalePlan) -> dict:
    """The tutorial RAG over the same files, with our provisional vectors: build, ask p50/p95, disk."""
    files = corpus_files(grown, documents)
    embedder = ProvisionalEmbeddings(make_embedder(Settings(_env_file=None, embedder=plan.embedder)))
    questions = make_questions(plan.questions)
    with tempfile.TemporaryDirectory(prefix="forumqa-scale-baseline-") as tmp:
        built = build_baseline_from_files(files, Path(tmp), embedder)
        for question in questions[: plan.warmup]:
            built.store.similarity_search(question, k=4)
        timings = []
        for question in questions:
            started = time.perf_counter()
            built.store.similarity_search(question, k=4)
            timings.append((time.perf_counter() - started) * 1000)
        ms = np.asarray(timings)
        return {"chunks": built.chunks, "build_s": round(built.seconds, 1),
                "p50_ms": round(float(np.percentile(ms, 50)), 1), "p95_ms": round(float(np.percentile(ms, 95)), 1),
                "disk_mb": round(disk_mb(Path(tmp) / "chroma"), 1),
                "load_average": [round(x, 2) for x in os.getloadavg()]}


class ProvisionalEmbeddings(Embeddings):
    """A refinable embedder whose documents get their provisional vectors (ours, at these sizes), so the
    baseline's index costs what ours does to build and to search."""

    def __init__(self, embedder: NamedEmbeddings) -> None:
        self.inner = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not self.inner.refinable:
            return self.inner.embed_documents(texts)
        return self.inner.embed_provisional(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)


def disk_mb(folder: Path) -> float:
    return sum(p.stat().st_blocks * 512 for p in folder.rglob("*") if p.is_file()) / 2**20


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _reset_peak_rss() -> None:
    """Linux: VmHWM starts again from the current RSS (writing 5 to clear_refs)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
