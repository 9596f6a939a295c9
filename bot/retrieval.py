"""Hybrid retrieval: dense search plus same-language BM25, fused by weighted reciprocal ranks,
then one hit per document, preferring the edition of a report in the question's language."""

from __future__ import annotations

import threading
from collections import defaultdict

from bot.answer import Hit
from bot.bm25_index import LanguageBM25
from bot.tokens import tokenize
from settings import Settings
from store import ChromaIndex, ScoredChunk

_EXTRA_CHUNKS = 2


class HybridRetriever:
    def __init__(self, index: ChromaIndex, settings: Settings) -> None:
        self.index = index
        self.settings = settings
        self._bm25: LanguageBM25 | None = None
        self._bm25_revision: str | None = None
        self._editions: tuple[str, dict[tuple[str, str], str]] | None = None
        self._lock = threading.Lock()

    def bm25(self) -> LanguageBM25:
        """Rebuilt when the set of committed documents changes (e.g. after an ingest)."""
        revision = self.index.revision()
        with self._lock:
            if self._bm25 is None or revision != self._bm25_revision:
                self._bm25 = LanguageBM25(self.index.committed_chunks())
                self._bm25_revision = revision
            return self._bm25

    def term_weights(self, question: str, language: str) -> dict[str, float]:
        return self.bm25().term_weights(tokenize(question, language))

    def retrieve(self, question: str, language: str, query_vector: list[float], top_k: int | None = None) -> list[Hit]:
        s = self.settings
        top_k = top_k or s.top_k
        dense = self.index.dense_search(query_vector, s.fetch_k)
        lexical = self.bm25().search(question, language, s.fetch_k) if s.bm25_weight > 0 else []
        fused = self._fuse(dense, lexical)
        hits = self._one_per_document(fused, {c.chunk_id: c.score for c in dense})
        hits = self._prefer_edition(hits, language, query_vector)
        return hits[:top_k]

    def _fuse(self, dense: list[ScoredChunk], lexical: list[ScoredChunk]) -> list[tuple[float, ScoredChunk]]:
        s = self.settings
        scores: dict[str, float] = defaultdict(float)
        chunks: dict[str, ScoredChunk] = {}
        for weight, ranked in ((s.dense_weight, dense), (s.bm25_weight, lexical)):
            for rank, chunk in enumerate(ranked):
                scores[chunk.chunk_id] += weight / (s.rrf_k + rank + 1)
                chunks.setdefault(chunk.chunk_id, chunk)
        return sorted(((scores[cid], chunks[cid]) for cid in scores), key=lambda pair: -pair[0])

    @staticmethod
    def _one_per_document(fused: list[tuple[float, ScoredChunk]], dense_scores: dict[str, float]) -> list[Hit]:
        hits: dict[str, Hit] = {}
        for score, chunk in fused:
            doc_id = chunk.metadata.get("doc_id", chunk.chunk_id)
            if doc_id not in hits:
                hits[doc_id] = Hit(chunk.chunk_id, chunk.text, chunk.metadata, score, dense_scores.get(chunk.chunk_id))
            elif len(hits[doc_id].extra_texts) < _EXTRA_CHUNKS:
                hits[doc_id].extra_texts.append(chunk.text)
        return list(hits.values())

    def _prefer_edition(self, hits: list[Hit], language: str, query_vector: list[float]) -> list[Hit]:
        """Keep one edition per report: the question's language if the store has it."""
        editions: dict[str, list[Hit]] = defaultdict(list)
        for hit in hits:
            editions[hit.metadata.get("edition") or hit.doc_id].append(hit)
        preferred_docs = self._editions_in_language(set(editions), language)
        out: list[Hit] = []
        for key, group in editions.items():
            best = group[0]
            chosen = next((h for h in group if h.language == language), None)
            if chosen is None and key in preferred_docs:
                chosen = self._best_chunk_of(preferred_docs[key], query_vector)
            if chosen is None:
                chosen = best
            chosen.score = max(chosen.score, best.score)
            out.append(chosen)
        return sorted(out, key=lambda h: -h.score)

    def _editions_in_language(self, edition_keys: set[str], language: str) -> dict[str, str]:
        by_edition = self._editions_index()
        return {key: by_edition[(key, language)] for key in edition_keys if (key, language) in by_edition}

    def _editions_index(self) -> dict[tuple[str, str], str]:
        """(edition key, language) -> doc_id, rebuilt only when the documents change."""
        revision = self.index.revision()
        if self._editions is None or self._editions[0] != revision:
            self._editions = (revision, {(r.edition, r.language): r.doc_id for r in self.index.documents(fresh=False)})
        return self._editions[1]

    def _best_chunk_of(self, doc_id: str, query_vector: list[float]) -> Hit | None:
        found = self.index.dense_search(query_vector, 3, where={"doc_id": doc_id})
        if not found:
            return None
        best = found[0]
        return Hit(best.chunk_id, best.text, best.metadata, 0.0, best.score, [c.text for c in found[1:]])
