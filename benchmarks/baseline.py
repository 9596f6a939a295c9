"""The baseline: a plain LangChain RAG as tutorials build it, on the same files and with the same embedder.

RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200) with its default separators, a fresh Chroma
collection in an embedded client, `similarity_search` top-4, and the first chunk's text as the answer.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import chromadb
from chromadb.config import Settings as ChromaSettings
from langchain_chroma import Chroma
from langchain_core.documents import Document
from langchain_text_splitters import RecursiveCharacterTextSplitter

from benchmarks.xquad import RANK_DEPTH, Paragraph, Question, Tally, build_stats, distinct, write_paragraphs
from store import NamedEmbeddings

log = logging.getLogger(__name__)

TOP_K = 4


@dataclass
class BaselineIndex:
    store: Chroma
    sources: dict[str, object]  # resolved source path -> what it stands for
    documents: int
    chunks: int
    seconds: float

    def stats(self) -> dict:
        return build_stats(self.documents, self.chunks, self.seconds)


def build_baseline(paragraphs: Sequence[Paragraph], workdir: Path, embedder: NamedEmbeddings) -> BaselineIndex:
    sources = write_paragraphs(paragraphs, workdir / "docs")
    built = build_baseline_from_files([Path(p) for p in sources], workdir, embedder)
    built.sources = sources
    return built


def build_baseline_from_files(paths: Sequence[Path], workdir: Path, embedder: NamedEmbeddings) -> BaselineIndex:
    """The tutorial's index over text files; `sources` maps each resolved path to itself."""
    start = time.perf_counter()
    documents = [
        Document(page_content=path.read_text(encoding="utf-8"), metadata={"source": str(path.resolve())})
        for path in paths
    ]
    chunks = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200).split_documents(documents)
    client = chromadb.PersistentClient(
        path=str(workdir / "chroma"), settings=ChromaSettings(anonymized_telemetry=False)
    )
    store = Chroma.from_documents(
        chunks, embedding=embedder, client=client, collection_name=f"baseline-{uuid.uuid4().hex[:8]}"
    )
    seconds = time.perf_counter() - start
    log.info("baseline: %s paragraphs as %s chunks in %.1f s", len(documents), len(chunks), seconds)
    sources = {d.metadata["source"]: d.metadata["source"] for d in documents}
    return BaselineIndex(store, sources, len(documents), len(chunks), seconds)


def evaluate_baseline(built: BaselineIndex, questions: Sequence[Question], gold_lang: str | None,
                      answer: bool = True) -> dict[str, dict[str, Tally]]:
    """Same metrics as ours. The answer is the first of the top-4 chunks; the document ranking (for recall@5
    and MRR) is the distinct sources of the top-10 chunks, whose first 4 are the tutorial's top-4."""
    tallies: dict[str, Tally] = {}
    for q in questions:
        found = built.store.similarity_search(q.text, k=max(RANK_DEPTH, TOP_K))
        tally = tallies.setdefault(q.lang, Tally())
        documents = distinct(built.sources.get(d.metadata.get("source")) for d in found)
        tally.add_ranking(documents, (gold_lang or q.lang, q.pid))
        if answer:
            tally.add_answer(found[0].page_content if found else "", q.gold_en)
    return {"dense (chroma)": tallies}
