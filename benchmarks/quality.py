"""Our pipeline on XQuAD: paragraphs ingested through `ingest_paths`, questions asked through `ForumQA`."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from benchmarks.xquad import RANK_DEPTH, Paragraph, Question, Tally, build_stats, distinct, write_paragraphs
from bot import ForumQA
from ingest.pipeline import ingest_paths
from settings import Settings
from store import ChromaIndex, NamedEmbeddings, open_index

log = logging.getLogger(__name__)

# Retrieval ablation: settings overrides per mode (lexical_weight=0 turns the hybrid retriever dense-only).
RETRIEVAL_MODES: dict[str, dict] = {"hybrid": {}, "dense": {"lexical_weight": 0.0}}


@dataclass
class BuiltIndex:
    index: ChromaIndex
    settings: Settings
    sources: dict[str, tuple[str, int]]  # resolved source path -> (lang, pid)
    documents: int
    chunks: int
    seconds: float

    def stats(self) -> dict:
        return build_stats(self.documents, self.chunks, self.seconds)


def build_index(paragraphs: Sequence[Paragraph], workdir: Path, embedder_kind: str,
                embedder: NamedEmbeddings) -> BuiltIndex:
    """Write the paragraphs as files and ingest them into a fresh store, exactly as `python -m ingest` would."""
    sources = write_paragraphs(paragraphs, workdir / "docs")
    settings = Settings(_env_file=None, store_dir=workdir / "store", embedder=embedder_kind, answerer="extractive")
    index = open_index(settings, embedder)
    start = time.perf_counter()
    report = ingest_paths([workdir / "docs"], index, settings)
    seconds = time.perf_counter() - start
    if report.failed:
        raise RuntimeError(f"{len(report.failed)} paragraphs failed to ingest, e.g. {report.failed[0].reason}")
    chunks = sum(o.chunks for o in report.outcomes)
    log.info("indexed %s paragraphs as %s chunks with %s in %.1f s", len(paragraphs), chunks, embedder_kind, seconds)
    return BuiltIndex(index, settings, sources, len(report.outcomes), chunks, seconds)


def evaluate(built: BuiltIndex, questions: Sequence[Question], gold_lang: str | None,
             answer_every: int = 0) -> dict[str, dict[str, Tally]]:
    """Tallies per retrieval mode and question language.

    gold_lang: the language of the gold paragraph ("en" for the English index), or None for the question's
    own language (the mixed index). answer_every: answer every n-th question of each language (0: none).
    The first mode's request is `ForumQA.prepare(q)` and its answer `answerer.answer(request)`, which is what
    `ForumQA.ask` does. The chain's steps before retrieval (language, standalone question, query vector) don't
    depend on the retrieval settings, so the other modes reuse them and only re-run `retrieve`. Rankings come
    from a deeper `retrieve` with the same query vector. A request whose hits are identical in two modes is
    answered once (the extractive answerer is deterministic), which halves the cost of cross-lingual pairs.
    """
    qas = {
        mode: ForumQA(built.settings.model_copy(update=overrides), built.index)
        for mode, overrides in RETRIEVAL_MODES.items()
    }
    for qa in qas.values():
        qa.retriever.lexical_index(wait=True)  # every question counts its words
    first_qa = qas[next(iter(RETRIEVAL_MODES))]
    tallies: dict[str, dict[str, Tally]] = {mode: {} for mode in qas}
    memo: dict[tuple, str] = {}
    asked: dict[str, int] = {}
    start = time.perf_counter()
    for i, q in enumerate(questions):
        gold = (gold_lang or q.lang, q.pid)
        position = asked[q.lang] = asked.get(q.lang, -1) + 1
        wants_answer = answer_every > 0 and position % answer_every == 0
        first = first_qa.prepare(q.text)
        vector = first.query_vector.tolist()
        for mode, qa in qas.items():
            tally = tallies[mode].setdefault(q.lang, Tally())
            request = first if qa is first_qa else replace(
                first, hits=qa.retriever.retrieve(first.standalone, first.language, vector)
            )
            ranked = qa.retriever.retrieve(request.standalone, request.language, vector, top_k=RANK_DEPTH)
            tally.add_ranking(distinct(built.sources.get(h.metadata.get("source")) for h in ranked), gold)
            if wants_answer:
                key = (request.standalone, request.language, tuple((h.chunk_id, *h.extra_texts) for h in request.hits))
                if key not in memo:
                    memo[key] = qa.answerer.answer(request).answer
                tally.add_answer(memo[key], q.gold_en)
        if (i + 1) % 250 == 0:
            log.info("  %s/%s questions, %.0f s", i + 1, len(questions), time.perf_counter() - start)
    return tallies


def rows(tallies: dict[str, dict[str, Tally]], *, system: str, embedder: str, index: str,
         gold_lang: str | None) -> list[dict]:
    out = []
    for mode, by_lang in tallies.items():
        for lang, tally in by_lang.items():
            out.append({
                "system": system, "embedder": embedder, "retrieval": mode, "index": index,
                "pair": f"{lang}→{gold_lang or lang}", **tally.summary(),
            })
    return out
