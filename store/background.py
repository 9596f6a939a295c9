"""Background passages: generic text in each served language (store/background/<lang>.txt, written by the
team), embedded with the store's embedder.

Retrieval normalises a question's similarity to a chunk against the question's similarities to this
background in the chunk's language: how far the chunk stands out from ordinary text in its own language. That
removes a model's bias towards the question's own language, and unlike statistics of the store's own chunks it
does not depend on how many documents the store holds. The vectors are computed once per embedder and kept in
a Chroma collection beside the chunks, so an app opening an existing store does not embed them again.
"""

from __future__ import annotations

import hashlib
import logging
from functools import lru_cache
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

BACKGROUND_DIR = Path(__file__).resolve().parent / "background"


@lru_cache(maxsize=1)
def background_passages() -> dict[str, tuple[str, ...]]:
    """Language -> passages (paragraphs separated by a blank line)."""
    out = {}
    for path in sorted(BACKGROUND_DIR.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        out[path.stem] = tuple(p.strip() for p in text.split("\n\n") if p.strip())
    return out


def background_key(embedder_name: str) -> str:
    """Changes with the passages or the embedder: stored vectors with another key are recomputed."""
    digest = hashlib.sha1(embedder_name.encode())
    for language, passages in sorted(background_passages().items()):
        digest.update(language.encode())
        for passage in passages:
            digest.update(passage.encode())
    return digest.hexdigest()[:16]


def load_or_embed(client, store_collection: str, embedder) -> dict[str, np.ndarray]:
    """Language -> (n, dimension) background vectors, read from the collection beside `store_collection`'s
    chunks or embedded and stored there."""
    collection = client.get_or_create_collection(
        name=f"{store_collection}-background", embedding_function=None,
        metadata={"kind": "background", "hnsw:space": "cosine"},
    )
    key = background_key(embedder.name)
    passages = background_passages()
    expected = sum(len(p) for p in passages.values())
    got = collection.get(where={"key": key}, include=["embeddings", "metadatas"])
    if len(got["ids"]) != expected:
        log.info("embedding %s background passages with %s", expected, embedder.name)
        ids, vectors, metadatas = [], [], []
        for language, texts in passages.items():
            ids += [f"{key}:{language}:{i}" for i in range(len(texts))]
            vectors += list(embedder.embed_array(list(texts)))
            metadatas += [{"key": key, "language": language}] * len(texts)
        stale = collection.get(where={"key": {"$ne": key}}, include=[])["ids"]
        if stale:
            collection.delete(ids=stale)
        collection.upsert(ids=ids, embeddings=np.asarray(vectors), metadatas=metadatas)
        got = {"embeddings": vectors, "metadatas": metadatas}
    by_language: dict[str, list] = {}
    for vector, meta in zip(got["embeddings"], got["metadatas"]):
        by_language.setdefault(meta["language"], []).append(vector)
    return {language: np.asarray(rows, dtype=np.float32) for language, rows in by_language.items()}
