"""BM25 over the committed chunks, one index per document language (bm25s)."""

from __future__ import annotations

import logging
import math
from collections import Counter, defaultdict
from dataclasses import dataclass

import bm25s
import numpy as np

from store import ScoredChunk
from textkit.tokens import tokenize

logging.getLogger("bm25s").setLevel(logging.WARNING)


@dataclass
class _LanguageIndex:
    model: bm25s.BM25
    chunks: list[ScoredChunk]


class LanguageBM25:
    """Lexical search that only compares a question with documents in the question's language.

    Fusing BM25 across languages hurts: a Spanish question's words match nothing useful in English text.
    """

    def __init__(self, chunks: list[ScoredChunk]) -> None:
        by_language: dict[str, list[ScoredChunk]] = defaultdict(list)
        for chunk in chunks:
            by_language[chunk.metadata.get("language", "other")].append(chunk)
        self._indexes: dict[str, _LanguageIndex] = {}
        document_frequency: Counter[str] = Counter()
        for language, members in by_language.items():
            tokenized = [tokenize(c.text, language) or ["\u2205"] for c in members]
            for tokens in tokenized:
                document_frequency.update(set(tokens))
            model = bm25s.BM25()
            model.index(tokenized, show_progress=False)
            self._indexes[language] = _LanguageIndex(model, members)
        total = max(1, len(chunks))
        self._idf = {t: math.log(1 + total / df) for t, df in document_frequency.items()}
        self._unseen_idf = math.log(1 + total)

    def term_weights(self, tokens: list[str]) -> dict[str, float]:
        """IDF over all committed chunks; a term found nowhere weighs most (the question asks about it)."""
        return {t: self._idf.get(t, self._unseen_idf) for t in tokens}

    def coverage(self, question: str, language: str) -> dict[str, float]:
        """chunk_id -> the share of the question's term weight (IDF) found in the chunk, for the chunks of
        `language` that contain any question term. Unlike a BM25 score it is bounded (0..1) and comparable
        between questions, so it can be added to a z-score."""
        index = self._indexes.get(language)
        weights = self.term_weights(list(dict.fromkeys(tokenize(question, language))))
        total = sum(weights.values())
        if index is None or not total:
            return {}
        matched = np.zeros(len(index.chunks))
        for term, weight in weights.items():
            matched += weight * (index.model.get_scores([term]) > 0)
        return {index.chunks[i].chunk_id: float(matched[i] / total) for i in np.flatnonzero(matched)}

    def search(self, question: str, language: str, k: int) -> list[ScoredChunk]:
        index = self._indexes.get(language)
        tokens = tokenize(question, language)
        if index is None or not tokens:
            return []
        scores = index.model.get_scores(tokens)
        top = np.argsort(-scores)[:k]
        return [
            ScoredChunk(index.chunks[i].chunk_id, index.chunks[i].text, index.chunks[i].metadata, float(scores[i]))
            for i in top
            if scores[i] > 0
        ]
