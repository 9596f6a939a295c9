"""python -m benchmarks.first_question [--chunks N] [--store DIR] [--embedder NAME]

The first questions after one document is added to a store of N chunks: how long each takes, and when the
refreshed lexical index is swapped in. The synthetic corpus (benchmarks.corpus) is ingested once into --store
(not refined: provisional vectors search at the same cost) and reused by later runs; each run measures on a
copy of it."""

from __future__ import annotations

import argparse
import logging
import shutil
import tempfile
import time
from pathlib import Path

from benchmarks.corpus import make_questions, write_corpus
from bot import ForumQA
from ingest.pipeline import ingest_paths
from settings import Settings, apply_offline_environment
from store import make_embedder, open_index

log = logging.getLogger("benchmarks.first_question")
CHUNKS_PER_DOCUMENT = 3.3  # about what benchmarks.corpus documents make


def build_store(store: Path, chunks: int, settings: Settings) -> None:
    """Grow `store` until it holds at least `chunks` chunks; documents are numbered from 0, so reruns add none."""
    index = open_index(settings, make_embedder(settings))
    corpus = store.parent / f"{store.name}-corpus"
    written = 0
    while index.chunk_total() < chunks:
        count = max(10, int((chunks - index.chunk_total()) / CHUNKS_PER_DOCUMENT) + 1)
        write_corpus(corpus, count, first=written)
        written += count
        log.info("ingesting %s documents (%s chunks so far)", count, index.chunk_total())
        ingest_paths([corpus], index, settings, refine=False)


def measure(store: Path, settings: Settings, questions: int = 5) -> dict:
    """On a copy of `store`: warm up, add one document, then time the next `questions` asks and the swap."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "store"
        shutil.copytree(store, copy, ignore=shutil.ignore_patterns("*.lock"))
        settings = settings.model_copy(update={"store_dir": copy})
        index = open_index(settings, make_embedder(settings))
        qa = ForumQA(settings, index)
        qa.retriever.lexical_index(wait=True)
        asked = make_questions(20)
        for question in asked[:10]:
            qa.ask(question)
        warm = []
        for question in asked[10:20]:
            started = time.perf_counter()
            qa.ask(question)
            warm.append((time.perf_counter() - started) * 1000)
        return {**measure_after_add(qa, settings, Path(tmp) / "new", questions),
                "warm_median_ms": round(sorted(warm)[len(warm) // 2], 1)}


def measure_after_add(qa: ForumQA, settings: Settings, folder: Path, questions: int = 5,
                      swap_wait_s: float = 120) -> dict:
    """With `qa` warm (its lexical index built): add one document to its store, time the next `questions` asks,
    then wait up to `swap_wait_s` for the refreshed lexical index to be swapped in."""
    index = qa.retriever.index
    before = qa.retriever.lexical_index(wait=True)
    write_corpus(folder, 1, first=10**6)
    ingest_paths([folder], index, settings, refine=False)
    added = time.perf_counter()
    after = []
    for question in make_questions(20 + questions)[20:]:
        started = time.perf_counter()
        qa.ask(question)
        after.append(round((time.perf_counter() - started) * 1000, 1))
    while qa.retriever.lexical_index() is before and time.perf_counter() - added < swap_wait_s:
        time.sleep(0.01)
    swapped = time.perf_counter() - added if qa.retriever.lexical_index() is not before else None
    return {"chunks": index.chunk_total(), "after_add_ms": after,
            "bm25_current_after_s": round(swapped, 2) if swapped is not None else None}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.first_question", description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--store", type=Path, default=Path(tempfile.gettempdir()) / "forumqa-first-question")
    parser.add_argument("--embedder", default=Settings.model_fields["embedder"].default)
    args = parser.parse_args(argv)
    apply_offline_environment()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = Settings(_env_file=None, store_dir=args.store, embedder=args.embedder, answerer="extractive")
    build_store(args.store, args.chunks, settings)
    print(measure(args.store, settings))


if __name__ == "__main__":
    main()
