"""The chunk vectors: one Chroma collection of chunks (text, metadata, embedding), through chromadb's own API.

Chunks are written by one method, `write`, with vectors computed by the caller: an ingest's first vectors and a
refinement's final ones go the same way. Which chunks count is the registry's business (store/registry.py):
readers pass the committed records, and a chunk counts only when its (doc_id, sha256) matches one.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from store.client import PAGE
from store.embedders import NamedEmbeddings
from store.errors import EmbedderMismatch
from store.records import Chunk, DocumentRecord

_TEXTS_KEPT = 16  # whole documents kept for the answerer's name checks


@dataclass(frozen=True)
class ScoredChunk:
    chunk_id: str
    text: str
    metadata: dict
    score: float
    vector: np.ndarray | None = None  # its stored embedding, when the search was asked for it


def _committed(records: dict[str, DocumentRecord], meta: dict | None) -> bool:
    record = records.get(meta.get("doc_id")) if meta else None
    return record is not None and record.sha256 == meta.get("sha256")


class ChunkVectors:
    """Not thread-safe: the ChromaIndex in front of it serialises every call."""

    def __init__(self, client, collection: str, embedder: NamedEmbeddings) -> None:
        self._name, self._embedder = collection, embedder
        self._texts: OrderedDict[tuple[str, str], str] = OrderedDict()  # (doc_id, sha256) -> text, recent last
        self.attach(client)

    def attach(self, client) -> None:
        """Use the collection through `client` (a store opened afresh); EmbedderMismatch if another embedder
        built it."""
        _check_embedder(client, self._name, self._embedder)
        self.collection = client.get_or_create_collection(
            name=self._name, embedding_function=None,
            metadata={"hnsw:space": "cosine", "embedder": self._embedder.name, "dimension": self._embedder.dimension},
        )

    def write(self, chunks: list[Chunk], vectors: np.ndarray | list) -> None:
        """Store chunks with their vectors, replacing any stored under the same chunk ids."""
        if chunks:
            self.collection.upsert(
                ids=[c.chunk_id for c in chunks], documents=[c.text for c in chunks],
                metadatas=[c.metadata for c in chunks], embeddings=np.asarray(vectors, dtype=np.float32),
            )

    def stored(self, doc_ids: list[str]) -> tuple[list[Chunk], np.ndarray]:
        """Every stored chunk of these documents, any version, with its vector."""
        got = self.collection.get(where={"doc_id": {"$in": doc_ids}}, include=["documents", "metadatas", "embeddings"])
        return [Chunk(text, meta) for text, meta in zip(got["documents"], got["metadatas"])], np.asarray(
            got["embeddings"]
        )

    def retitle(self, doc_id: str, title: str) -> None:
        """Set the title on every stored chunk of a document."""
        chunks, vectors = self.stored([doc_id])
        self.write([Chunk(c.text, {**c.metadata, "title": title}) for c in chunks], vectors)

    def delete(self, doc_id: str, keep_sha256: str | None = None) -> None:
        """Delete a document's chunks; with `keep_sha256`, only those of its other versions."""
        if keep_sha256 is None:
            self.collection.delete(where={"doc_id": doc_id})
        else:
            self.collection.delete(where={"$and": [{"doc_id": doc_id}, {"sha256": {"$ne": keep_sha256}}]})

    def delete_uncommitted(self, records: dict[str, DocumentRecord]) -> int:
        """Delete the chunks that no committed document version owns. Returns how many."""
        orphans = [cid for cid, _, meta in self._pages(["metadatas"]) if not _committed(records, meta)]
        for start in range(0, len(orphans), PAGE):
            self.collection.delete(ids=orphans[start : start + PAGE])
        return len(orphans)

    def committed_chunks(self, records: dict[str, DocumentRecord]) -> list[ScoredChunk]:
        """Every chunk of every committed document version, in a stable order."""
        out = [ScoredChunk(cid, text, meta, 0.0) for cid, text, meta in self._pages(["documents", "metadatas"])
               if _committed(records, meta)]
        return sorted(out, key=lambda c: c.chunk_id)

    def _pages(self, include: list[str]):
        offset = 0
        while True:
            got = self.collection.get(include=include, limit=PAGE, offset=offset)
            yield from zip(got["ids"], got.get("documents") or [None] * len(got["ids"]), got["metadatas"])
            if len(got["ids"]) < PAGE:
                return
            offset += PAGE

    def search(self, query_vector: list[float], k: int, records: dict[str, DocumentRecord], where: dict | None = None,
               with_vectors: bool = False) -> list[ScoredChunk]:
        """Nearest chunks by cosine similarity, only from committed document versions."""
        total = self.collection.count()
        if total == 0:
            return []
        include = ["documents", "metadatas", "distances", *(["embeddings"] if with_vectors else [])]
        got = self.collection.query(query_embeddings=[query_vector], n_results=min(k, total), where=where,
                                    include=include)
        vectors = got["embeddings"][0] if with_vectors else [None] * len(got["ids"][0])
        out = []
        for cid, text, meta, dist, vector in zip(
            got["ids"][0], got["documents"][0], got["metadatas"][0], got["distances"][0], vectors
        ):
            # meta is None for a row deleted by another process (an ingest CLI) while this one holds the store open
            if _committed(records, meta):
                stored = None if vector is None else np.asarray(vector, dtype=np.float32)
                out.append(ScoredChunk(cid, text, meta, 1.0 - float(dist), stored))
        return out

    def document_chunks(self, record: DocumentRecord) -> list[Chunk]:
        """The chunks of a document version, in order."""
        got = self.collection.get(where={"$and": [{"doc_id": record.doc_id}, {"sha256": record.sha256}]},
                                  include=["documents", "metadatas"])
        chunks = [Chunk(text, meta) for text, meta in zip(got["documents"], got["metadatas"])]
        return sorted(chunks, key=lambda chunk: chunk.metadata.get("chunk_index", 0))

    def document_text(self, record: DocumentRecord) -> str:
        """A document version's chunks joined in order, overlaps included; the last few are kept."""
        key = (record.doc_id, record.sha256)
        if key in self._texts:
            self._texts.move_to_end(key)
            return self._texts[key]
        self._texts[key] = text = "\n".join(chunk.text for chunk in self.document_chunks(record))
        while len(self._texts) > _TEXTS_KEPT:
            self._texts.popitem(last=False)
        return text


def _check_embedder(client, collection: str, embedder: NamedEmbeddings) -> None:
    """Vectors of two embedders must never share a collection."""
    existing = {c.name if hasattr(c, "name") else c for c in client.list_collections()}
    if collection not in existing:
        return
    meta = client.get_collection(collection, embedding_function=None).metadata or {}
    built_with = (meta.get("embedder"), meta.get("dimension"))
    if built_with != (embedder.name, embedder.dimension):
        raise EmbedderMismatch(
            f"the index '{collection}' was built with embedder {built_with[0]} ({built_with[1]}-d) but "
            f"{embedder.name} ({embedder.dimension}-d) is configured; "
            "use another --store/collection or configure the original embedder"
        )
