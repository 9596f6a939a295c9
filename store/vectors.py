"""The chunk vectors: one Chroma collection per document language (`<store>-chunks-<lang>`), each holding the
chunks (text, metadata, embedding) of that language's documents, through chromadb's own API.

Retrieval asks each language separately (bot/retrieval.py); a metadata filter on one shared collection made
Chroma list every matching row first (about 30 ms per question and language at 10,000 chunks, growing with the
store), while a query on a collection of its own costs a few milliseconds. Stores written before this layout
kept every chunk in one collection named after the store; opening them moves those chunks over.

Chunks are written by one method, `write`, with vectors computed by the caller: an ingest's first vectors and a
refinement's final ones go the same way. Which chunks count is the registry's business (store/registry.py):
readers pass the committed records, and a chunk counts only when its (doc_id, sha256) matches one.
"""

from __future__ import annotations

import heapq
import logging
from collections import OrderedDict, defaultdict
from dataclasses import dataclass

import chromadb.errors
import numpy as np

from store.client import PAGE
from store.embedders import NamedEmbeddings
from store.errors import EmbedderMismatch
from store.records import Chunk, DocumentRecord
from textkit.language import DOCUMENT_LANGUAGES

log = logging.getLogger(__name__)

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


def shard_language(language: str | None) -> str:
    """The collection a document's language goes to."""
    return language if language in DOCUMENT_LANGUAGES else "other"


class ChunkVectors:
    """Not thread-safe: the ChromaIndex in front of it serialises every call."""

    def __init__(self, client, store: str, embedder: NamedEmbeddings) -> None:
        self._store, self._embedder = store, embedder
        self._texts: OrderedDict[tuple[str, str], str] = OrderedDict()  # (doc_id, sha256) -> text, recent last
        self.attach(client)

    def attach(self, client) -> None:
        """Use the collections through `client` (a store opened afresh); EmbedderMismatch if another embedder
        built them."""
        single = _single_collection(client, self._store)
        if single is not None:  # checked before any collection is created, so a wrong embedder changes nothing
            _check_embedder(single, self._embedder)
        metadata = {"hnsw:space": "cosine", "embedder": self._embedder.name, "dimension": self._embedder.dimension}
        self.shards = {}
        for language in DOCUMENT_LANGUAGES:
            shard = client.get_or_create_collection(name=f"{self._store}-chunks-{language}", embedding_function=None,
                                                    metadata=metadata)
            _check_embedder(shard, self._embedder)
            self.shards[language] = shard
        if single is not None:
            self._move_single_collection(client, single)

    def _move_single_collection(self, client, old) -> None:
        """Copy the chunks of a store written with one collection into the per-language ones, then drop it.

        A chunk already in a per-language collection is left as it is: it was written there by this code (an
        ingest or a retitle since the move began) or by a move that was interrupted, and is never older than the
        old collection's copy. So a crash in between copies the rest at the next opening, and two processes
        opening the store at once both copy and the second finds the old collection gone."""
        try:
            log.info("moving the %s chunks of '%s' into one collection per document language", old.count(),
                     self._store)
            offset = 0
            while True:
                got = old.get(include=["documents", "metadatas", "embeddings"], limit=PAGE, offset=offset)
                if got["ids"]:
                    present = {cid for shard in self.shards.values()
                               for cid in shard.get(ids=got["ids"], include=[])["ids"]}
                    new = [i for i, cid in enumerate(got["ids"]) if cid not in present]
                    self.write([Chunk(got["documents"][i], got["metadatas"][i]) for i in new],
                               np.asarray(got["embeddings"], dtype=np.float32)[new])
                offset += len(got["ids"])
                if len(got["ids"]) < PAGE:
                    break
            client.delete_collection(self._store)
            log.info("moved %s chunks", offset)
        except chromadb.errors.NotFoundError:
            pass

    def write(self, chunks: list[Chunk], vectors: np.ndarray | list) -> None:
        """Store chunks with their vectors, replacing any stored under the same chunk ids."""
        vectors = np.asarray(vectors, dtype=np.float32)
        by_language: dict[str, list[int]] = defaultdict(list)
        for i, chunk in enumerate(chunks):
            by_language[shard_language(chunk.metadata.get("language"))].append(i)
        for language, rows in by_language.items():
            self.shards[language].upsert(
                ids=[chunks[i].chunk_id for i in rows], documents=[chunks[i].text for i in rows],
                metadatas=[chunks[i].metadata for i in rows], embeddings=vectors[rows],
            )

    def stored(self, doc_ids: list[str]) -> tuple[list[Chunk], np.ndarray]:
        """Every stored chunk of these documents, any version, with its vector."""
        chunks, vectors = [], []
        for shard in self.shards.values():
            got = shard.get(where={"doc_id": {"$in": doc_ids}}, include=["documents", "metadatas", "embeddings"])
            chunks += [Chunk(text, meta) for text, meta in zip(got["documents"], got["metadatas"])]
            vectors += list(got["embeddings"])
        return chunks, np.asarray(vectors, dtype=np.float32).reshape(len(chunks), self._embedder.dimension)

    def retitle(self, doc_id: str, title: str) -> None:
        """Set the title on every stored chunk of a document."""
        chunks, vectors = self.stored([doc_id])
        self.write([Chunk(c.text, {**c.metadata, "title": title}) for c in chunks], vectors)

    def delete(self, doc_id: str, keep_sha256: str | None = None) -> None:
        """Delete a document's chunks; with `keep_sha256`, only those of its other versions (which may be in
        another language's collection: an edited file can change language)."""
        where = {"doc_id": doc_id} if keep_sha256 is None else {
            "$and": [{"doc_id": doc_id}, {"sha256": {"$ne": keep_sha256}}]}
        for shard in self.shards.values():
            shard.delete(where=where)

    def delete_uncommitted(self, records: dict[str, DocumentRecord]) -> int:
        """Delete the chunks that no committed document version owns. Returns how many."""
        removed = 0
        for shard in self.shards.values():
            orphans = [cid for cid, _, meta in _pages(shard, ["metadatas"]) if not _committed(records, meta)]
            for start in range(0, len(orphans), PAGE):
                shard.delete(ids=orphans[start : start + PAGE])
            removed += len(orphans)
        return removed

    def chunks_by_id(self, language: str, ids: list[str], records: dict[str, DocumentRecord]) -> list[ScoredChunk]:
        """The chunks of these ids in a language's collection, those of committed document versions only."""
        got = self.shards[language].get(ids=ids, include=["documents", "metadatas"])
        return [ScoredChunk(cid, text, meta, 0.0) for cid, text, meta in
                zip(got["ids"], got["documents"], got["metadatas"]) if _committed(records, meta)]

    def count(self) -> int:
        """Stored chunks, committed or not."""
        return sum(shard.count() for shard in self.shards.values())

    def rows(self, where: dict | None = None, include: tuple[str, ...] = ("metadatas",)) -> dict[str, list]:
        """Every stored row (committed or not) matching `where`, as chromadb's get() returns them, for tools and
        tests that inspect the store."""
        out: dict[str, list] = {"ids": [], **{key: [] for key in include}}
        for shard in self.shards.values():
            got = shard.get(where=where, include=list(include))
            for key in out:
                out[key] += list(got[key])
        return out

    def search(self, query_vector: list[float], k: int, records: dict[str, DocumentRecord],
               with_vectors: bool = False, language: str | None = None,
               ids: list[str] | None = None) -> list[ScoredChunk]:
        """Nearest chunks by cosine similarity, only from committed document versions: of documents in `language`,
        or the nearest of all languages; among the chunks `ids` only, when given."""
        shards = [self.shards[shard_language(language)]] if language else self.shards.values()
        if ids is not None:
            fetched = [chunk for shard in shards for chunk in _fetch(shard, query_vector, ids, with_vectors)]
            found = sorted(fetched, key=lambda c: -c.score)[:k]
        else:
            found = [chunk for shard in shards for chunk in _query(shard, query_vector, k, with_vectors)]
        committed = [chunk for chunk in found if _committed(records, chunk.metadata)]
        return committed if language else heapq.nlargest(k, committed, key=lambda c: c.score)

    def document_chunks(self, record: DocumentRecord) -> list[Chunk]:
        """The chunks of a document version, in order."""
        got = self.shards[shard_language(record.language)].get(ids=record.chunk_ids(),
                                                               include=["documents", "metadatas"])
        chunks = [Chunk(text, meta) for text, meta in zip(got["documents"], got["metadatas"]) if meta is not None]
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


def _pages(collection, include: list[str]):
    offset = 0
    while True:
        got = collection.get(include=include, limit=PAGE, offset=offset)
        yield from zip(got["ids"], got.get("documents") or [None] * len(got["ids"]), got["metadatas"])
        if len(got["ids"]) < PAGE:
            return
        offset += PAGE


def _fetch(collection, query_vector: list[float], ids: list[str], with_vectors: bool) -> list[ScoredChunk]:
    """The chunks `ids` (those the collection still holds: a chunk removed since the lexical index was built is
    skipped, where Chroma's query would fail on it), scored by cosine similarity like a query's."""
    got = collection.get(ids=ids, include=["documents", "metadatas", "embeddings"])
    if not got["ids"]:
        return []
    vectors = np.asarray(got["embeddings"], dtype=np.float32)
    query = np.asarray(query_vector, dtype=np.float32)
    scores = vectors @ query / np.maximum(np.linalg.norm(vectors, axis=1) * np.linalg.norm(query), 1e-12)
    return [ScoredChunk(cid, text, meta, float(score), vector if with_vectors else None)
            for cid, text, meta, score, vector in zip(got["ids"], got["documents"], got["metadatas"], scores, vectors)
            if meta is not None]


def _query(collection, query_vector: list[float], k: int, with_vectors: bool) -> list[ScoredChunk]:
    include = ["documents", "metadatas", "distances", *(["embeddings"] if with_vectors else [])]
    # chromadb 1.x returns what there is when k exceeds it (an empty collection included): no count() first
    got = collection.query(query_embeddings=[query_vector], n_results=k, include=include)
    vectors = got["embeddings"][0] if with_vectors else [None] * len(got["ids"][0])
    out = []
    for cid, text, meta, dist, vector in zip(
        got["ids"][0], got["documents"][0], got["metadatas"][0], got["distances"][0], vectors
    ):
        # meta is None for a row deleted by another process (an ingest CLI) while this one holds the store open
        if meta is not None:
            stored = None if vector is None else np.asarray(vector, dtype=np.float32)
            out.append(ScoredChunk(cid, text, meta, 1.0 - float(dist), stored))
    return out


def _single_collection(client, store: str):
    """The one collection that held every chunk of a store written before the per-language layout, if any."""
    if store not in {c.name if hasattr(c, "name") else c for c in client.list_collections()}:
        return None
    try:
        return client.get_collection(store, embedding_function=None)
    except chromadb.errors.NotFoundError:  # another process has just moved it
        return None


def _check_embedder(collection, embedder: NamedEmbeddings) -> None:
    """Vectors of two embedders must never share a collection."""
    meta = collection.metadata or {}
    built_with = (meta.get("embedder"), meta.get("dimension"))
    if built_with != (embedder.name, embedder.dimension):
        raise EmbedderMismatch(
            f"the index '{collection.name}' was built with embedder {built_with[0]} ({built_with[1]}-d) but "
            f"{embedder.name} ({embedder.dimension}-d) is configured; "
            "use another --store/collection or configure the original embedder"
        )
