"""Sentence embeddings for the extractive answerer, with a bounded LRU cache: the same report sentences come
back for many questions, and embedding them is most of an answer's cost."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from store import NamedEmbeddings


class SentenceVectors:
    def __init__(self, embedder: NamedEmbeddings, max_entries: int) -> None:
        self.embedder = embedder
        self.max_entries = max_entries
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, sentences: Sequence[str]) -> np.ndarray:
        with self._lock:
            missing = list(dict.fromkeys(s for s in sentences if s not in self._cache))
        if missing:
            fresh = self.embedder.embed_array(missing)
            with self._lock:
                self._cache.update(zip(missing, fresh))
                while len(self._cache) > self.max_entries:
                    self._cache.popitem(last=False)
        with self._lock:
            rows = []
            for sentence in sentences:
                vector = self._cache.get(sentence)
                if vector is None:  # evicted by a concurrent caller between the two steps
                    vector = self.embedder.embed_array([sentence])[0]
                else:
                    self._cache.move_to_end(sentence)
                rows.append(vector)
        return np.vstack(rows) if rows else np.zeros((0, self.embedder.dimension), dtype=np.float32)
