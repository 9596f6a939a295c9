"""Hybrid retrieval that lets the relevant document win whatever its language.

Raw similarities are not comparable across languages: mE5 scores any text in the question's own language
higher than a relevant document in another. So candidates are fetched per document language, and each model's
similarity becomes a z-score against generic background passages in that language (store/background): how far
a chunk stands out from ordinary text in its own language. The models' z-scores are fused with weights and
offsets per language pair, and same-language lexical matching adds a bounded bonus (the share of the question's
term weight a chunk holds, bot/lexical_index.py), so that shared words cannot outweigh a document in another
language that answers. One hit per document, then the edition of a report in the question's language is
preferred.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial

import numpy as np

from bot.answer import Hit
from bot.lexical_index import Coverage, LexicalIndex
from settings import Settings
from store import ChromaIndex, ScoredChunk
from textkit.tokens import tokenize

log = logging.getLogger(__name__)

_EXTRA_CHUNKS = 2
_RETRY_S = 30.0  # after a failed lexical refresh (a store that keeps failing is not read again per question)
_MIN_STD = 0.02
_DEFAULT_WEIGHT = 0.4


def _z_scores(vectors: np.ndarray, background: np.ndarray, query: np.ndarray) -> np.ndarray:
    """The chunks' similarities to the question, in standard deviations above the background's."""
    reference = background @ query
    return (vectors @ query - reference.mean()) / max(float(reference.std()), _MIN_STD)


@dataclass
class Scored:
    chunk: ScoredChunk
    dense: float  # fused z-score
    lexical: float  # 0..1: the question's term weight this chunk matches (same language only)

    def total(self, lexical_weight: float) -> float:
        return self.dense + lexical_weight * self.lexical


class HybridRetriever:
    def __init__(self, index: ChromaIndex, settings: Settings) -> None:
        self.index = index
        self.settings = settings
        self._lexical_index: LexicalIndex | None = None
        self._lexical_revision: str | None = None
        self._lexical_refresh: threading.Thread | None = None
        self._lexical_failed_at: float | None = None  # when the last refresh failed: the next waits _RETRY_S
        self._editions: tuple[str, dict[tuple[str, str], str]] | None = None
        self._lock = threading.Lock()

    def lexical_index(self, wait: bool = False) -> LexicalIndex | None:
        """The lexical index of the committed chunks; None until the first is built. No question waits for a
        build: when the committed documents differ from the index's (at the first call, or after an ingest), one
        background thread builds the next index and swaps it in, while the current one keeps serving. Until the
        swap the newest documents get no lexical bonus, and before the first, no question gets one (nor IDF term
        weights). The first build reads every chunk; the next read only those of the document versions added.
        `wait`: until a build under way has been swapped in (the app's warm-up, one-shot tools, benchmarks)."""
        revision = self.index.revision()  # read before the records: an index is never labelled newer than it is
        with self._lock:
            failed = self._lexical_failed_at is not None and time.monotonic() - self._lexical_failed_at < _RETRY_S
            if revision != self._lexical_revision and self._lexical_refresh is None and not failed:
                self._lexical_refresh = threading.Thread(target=self._refresh_lexical, args=(revision,),
                                                         name="forumqa-lexical-refresh", daemon=True)
                self._lexical_refresh.start()
            refresh, current = self._lexical_refresh, self._lexical_index
        if wait and refresh is not None:
            refresh.join()
            return self._lexical_index
        return current

    def lexical_ready(self) -> bool:
        """Whether the lexical index holds the committed documents, for health checks. Like a question, it starts
        the refresh when they changed, so an idle app is warm again soon after an ingest."""
        self.lexical_index()
        revision = self.index.revision()
        with self._lock:
            return self._lexical_index is not None and self._lexical_revision == revision

    def _refresh_lexical(self, revision: str) -> None:
        built, current = None, self._lexical_index
        try:
            records = {record.doc_id: record for record in self.index.documents(fresh=False)}
            if current is None:
                built = LexicalIndex(self.index.chunks_of(records.values()), records.values())
            else:
                built = current.updated(records, self.index.chunks_of)
        except Exception as exc:  # the current index keeps serving; a question after _RETRY_S starts another
            log.warning("building the lexical index failed, the previous one (if any) still serves: %s", exc)
        with self._lock:
            if built is not None:
                self._lexical_index, self._lexical_revision = built, revision
            self._lexical_failed_at = None if built is not None else time.monotonic()
            self._lexical_refresh = None

    def term_weights(self, question: str, language: str) -> dict[str, float]:
        """IDF of the question's terms; {} before the first lexical index is built (the answerer weighs them
        alike then)."""
        lexical = self.lexical_index()
        return {} if lexical is None else lexical.term_weights(tokenize(question, language))

    def retrieve(self, question: str, language: str, query_vector: list[float], top_k: int | None = None) -> list[Hit]:
        top_k = top_k or self.settings.top_k
        scored = self.score(question, language, query_vector)
        weight = self.settings.lexical_weight
        ranked = sorted(scored, key=lambda s: -s.total(weight))
        hits = self._one_per_document(ranked, weight)
        hits = self._prefer_edition(hits, language, query_vector)[:top_k]
        for hit in hits:
            hit.load_text = partial(self.index.document_text, hit.doc_id)
        return hits

    def score(self, question: str, language: str, query_vector: list[float]) -> list[Scored]:
        """Candidates of every document language, each with its fused dense z-score and lexical share."""
        embedder = self.index.embedder
        parts = embedder.query_parts(question)
        slices = embedder.part_slices
        languages = self.index.languages()
        if not languages:
            return []
        backgrounds = self.index.background()
        pooled = np.vstack(list(backgrounds.values()))
        lexical = self._lexical(question, language)
        provisional = self.index.provisional()
        out: list[Scored] = []
        for lang in languages:
            weights = self._weights(language, lang, len(parts))
            search_vector = np.hstack([w * part for w, part in zip(weights, parts)])
            found = self.index.dense_search(search_vector.tolist(), self.settings.fetch_k, with_vectors=True,
                                            language=lang)
            if lang == language:
                found += self._lexical_only(lexical, found, search_vector, lang)
            if not found:
                continue
            background = backgrounds.get(lang, pooled)  # 'other' documents: all languages' background
            vectors = np.vstack([c.vector for c in found])
            per_model = [_z_scores(vectors[:, sl], background[:, sl], part) for part, sl in zip(parts, slices)]
            dense = sum(w * z for w, z in zip(weights, per_model))
            if len(per_model) > 1:  # a provisional chunk has only its first model's vector yet: that model decides
                pending = np.array([c.metadata.get("doc_id") in provisional for c in found])
                dense = np.where(pending, per_model[0], dense)
            dense = dense + self.settings.fusion_offset.get(language, {}).get(lang, 0.0)
            out += [Scored(c, float(z), lexical.get(c.chunk_id, 0.0)) for c, z in zip(found, dense)]
        return out

    def _weights(self, question_language: str, document_language: str, parts: int) -> list[float]:
        """Each model's share of the fused score: USE-m's weight by language pair, the rest to mE5."""
        if parts == 1:
            return [1.0]
        w = self.settings.fusion_usem3_weight.get(question_language, {}).get(document_language, _DEFAULT_WEIGHT)
        return [w, 1.0 - w]

    def _lexical(self, question: str, language: str) -> Mapping[str, float]:
        """Per same-language chunk: the share of the question's IDF weight among the words it contains."""
        lexical = self.lexical_index() if self.settings.lexical_weight > 0 else None
        return {} if lexical is None else lexical.coverage(question, language)

    def _lexical_only(self, lexical: Mapping[str, float], found: list[ScoredChunk], search_vector: np.ndarray,
                      language: str) -> list[ScoredChunk]:
        """The chunks holding most of the question's words that the dense search did not fetch, with their
        vectors: "Who gave the opening remark?" resembles many passages as much as the one that says it."""
        if not isinstance(lexical, Coverage) or not self.settings.lexical_k:
            return []
        fetched = {c.chunk_id for c in found}
        missed = [cid for cid in lexical.best(self.settings.lexical_k) if cid not in fetched]
        if not missed:
            return []
        return self.index.dense_search(search_vector.tolist(), len(missed), with_vectors=True, language=language,
                                       ids=missed)

    @staticmethod
    def _one_per_document(ranked: list[Scored], lexical_weight: float) -> list[Hit]:
        hits: dict[str, Hit] = {}
        for s in ranked:
            chunk = s.chunk
            doc_id = chunk.metadata.get("doc_id", chunk.chunk_id)
            if doc_id not in hits:
                hits[doc_id] = Hit(chunk.chunk_id, chunk.text, chunk.metadata, s.total(lexical_weight))
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

    def add_passages(self, hit: Hit, query_vector: list[float], k: int = _EXTRA_CHUNKS) -> None:
        """The chunks of `hit`'s document closest to `query_vector`, added to those it offers the answerer."""
        for chunk in self.index.dense_search(query_vector, k, doc_id=hit.doc_id):
            if chunk.text != hit.text and chunk.text not in hit.extra_texts:
                hit.extra_texts.append(chunk.text)

    def _best_chunk_of(self, doc_id: str, query_vector: list[float]) -> Hit | None:
        found = self.index.dense_search(query_vector, 3, doc_id=doc_id)
        if not found:
            return None
        best = found[0]
        return Hit(best.chunk_id, best.text, best.metadata, 0.0, [c.text for c in found[1:]])
