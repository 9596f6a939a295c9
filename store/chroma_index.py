"""ChromaIndex: chunks with their vectors, plus a registry of documents that is the commit point
(store/registry.py). Orphans left by a crash are removed by `repair()` at the next ingest.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

import chromadb.errors
import httpx
import numpy as np
from langchain_chroma import Chroma

from settings import Settings
from store.background import load_or_embed
from store.client import make_chroma_client
from store.embedders import NamedEmbeddings
from store.errors import EmbedderMismatch, StoreUnavailable
from store.records import Chunk, DocumentRecord, clean_title
from store.registry import PAGE, DocumentRegistry

log = logging.getLogger(__name__)

_TEXTS_KEPT = 16  # whole documents kept for the answerer's name checks
_REOPEN_PAUSES_S = (0.2, 0.5, 1.0)  # two ingests writing small batches can outlast one reopen


@contextmanager
def server_faults(settings: Settings) -> Iterator[None]:
    """A Chroma server that does not answer is StoreUnavailable (a 503, an `error` line), not a bug."""
    try:
        yield
    except httpx.TransportError as exc:
        raise StoreUnavailable(
            f"the Chroma server at {settings.chroma_host}:{settings.chroma_port} does not answer "
            f"({type(exc).__name__}: {exc})"
        ) from exc


def _serialized(method):
    """One Chroma call at a time per index: concurrent readers in one process can race Chroma's log backfill
    after another process (an ingest) wrote, which fails with InternalError; a later try then succeeds."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self._lock, server_faults(self.settings):
            for pause in _REOPEN_PAUSES_S:
                try:
                    return method(self, *args, **kwargs)
                except chromadb.errors.InternalError:
                    # e.g. "Error finding id": another process replaced chunks that this process's in-memory
                    # vector index still lists. Reading the store afresh resolves it, unless writers keep going.
                    log.warning("Chroma internal error in %s; reopening the store and retrying", method.__name__)
                    time.sleep(pause)
                    self._reopen()
            return method(self, *args, **kwargs)

    return wrapper


@dataclass(frozen=True)
class ScoredChunk:
    chunk_id: str
    text: str
    metadata: dict
    score: float
    vector: np.ndarray | None = None  # its stored embedding, when the search was asked for it


class ChromaIndex:
    def __init__(self, settings: Settings, embedder: NamedEmbeddings, client=None) -> None:
        self.settings = settings
        self.embedder = embedder
        self._lock = threading.RLock()
        self.registry: DocumentRegistry | None = None
        self._background: dict[str, np.ndarray] | None = None
        self._texts: OrderedDict[tuple[str, str], str] = OrderedDict()  # (doc_id, sha256) -> text, recent last
        with server_faults(settings):
            self._open(client or make_chroma_client(settings))
        self._known_state = self.state()

    def _open(self, client) -> None:
        self.client = client
        self._check_embedder()
        self.vectorstore = Chroma(
            client=self.client,
            collection_name=self.settings.collection,
            embedding_function=self.embedder,
            collection_metadata={
                "hnsw:space": "cosine",
                "embedder": self.embedder.name,
                "dimension": self.embedder.dimension,
            },
        )
        self.chunks = self.vectorstore._collection
        if self.registry is None:
            self.registry = DocumentRegistry(self.client, self.settings.collection)
        else:
            self.registry.attach(self.client)

    def _follow_other_writers(self) -> None:
        """An embedded client keeps its vector index in memory and misses what another process (the ingest CLI
        beside the web app) added or refined; when the registry shows such a change, open the store afresh."""
        if self.settings.chroma_host:
            return
        state = self.state()
        if state != self._known_state:
            log.info("store changed by another process; reopening it")
            self._reopen()
            self._known_state = state

    def _reopen(self) -> None:
        if self.settings.chroma_host:
            return
        from chromadb.api.client import SharedSystemClient

        SharedSystemClient.clear_system_cache()
        self._open(make_chroma_client(self.settings))

    def _check_embedder(self) -> None:
        existing = {c.name if hasattr(c, "name") else c for c in self.client.list_collections()}
        if self.settings.collection not in existing:
            return
        meta = self.client.get_collection(self.settings.collection, embedding_function=None).metadata or {}
        built_with = (meta.get("embedder"), meta.get("dimension"))
        if built_with != (self.embedder.name, self.embedder.dimension):
            raise EmbedderMismatch(
                f"the index '{self.settings.collection}' was built with embedder {built_with[0]} "
                f"({built_with[1]}-d) but {self.embedder.name} ({self.embedder.dimension}-d) is configured; "
                "use another --store/collection or configure the original embedder"
            )

    # --- documents (registry) ---
    @_serialized
    def documents(self, fresh: bool = True) -> list[DocumentRecord]:
        return sorted(self._registry(fresh).values(), key=lambda r: r.source)

    @_serialized
    def document(self, doc_id: str) -> DocumentRecord | None:
        return self._registry(fresh=True).get(doc_id)

    @_serialized
    def _registry(self, fresh: bool) -> dict[str, DocumentRecord]:
        return self.registry.records(fresh)

    @_serialized
    def follow_commits(self) -> None:
        """Forget the cached registry when any writer (another app on the same Chroma server, an ingest CLI)
        committed since it was read, so that each question sees every commit made before it."""
        self.registry.follow_commits()

    @_serialized
    def revision(self) -> str:
        """Changes whenever a document's text is added, replaced or removed; refining vectors leaves it alone."""
        return self.registry.revision()

    @_serialized
    def state(self) -> str:
        """The revision plus which documents are refined: an embedded reader reopens the store when it changes."""
        return self.registry.state()

    def chunk_total(self) -> int:
        return sum(r.chunks for r in self._registry(fresh=False).values())

    # --- writing ---
    @_serialized
    def write_documents(self, items: list[tuple[DocumentRecord, list[Chunk]]], replaced: set[str]) -> int:
        """Store every chunk of a batch of documents, then commit their records, then drop the previous versions
        of the documents in `replaced`. One Chroma write each, not one per document. Returns texts embedded.

        With a refinable embedder the chunks get provisional vectors and the records say so; `refine()` follows."""
        chunks = [c for _, doc_chunks in items for c in doc_chunks]
        provisional = self.embedder.refinable
        if chunks and provisional:
            texts = [c.text for c in chunks]
            self.chunks.upsert(
                ids=[c.chunk_id for c in chunks], documents=texts, metadatas=[c.metadata for c in chunks],
                embeddings=self.embedder.embed_provisional(texts),
            )
        elif chunks:
            self.vectorstore.add_texts(
                texts=[c.text for c in chunks], metadatas=[c.metadata for c in chunks], ids=[c.chunk_id for c in chunks]
            )
        records = [replace(record, vectors="provisional") if provisional else record for record, _ in items]
        self.registry.commit(records)
        for record in records:
            if record.doc_id in replaced:
                self.chunks.delete(where={"$and": [{"doc_id": record.doc_id}, {"sha256": {"$ne": record.sha256}}]})
        self._known_state = self.state()
        return len(chunks)

    def pending_refinement(self) -> list[DocumentRecord]:
        """Provisional documents, from the cached registry: a writer holding the lock knows its own changes."""
        return [r for r in self.documents(fresh=False) if r.vectors == "provisional"]

    @_serialized
    def refine(self, records: list[DocumentRecord]) -> int:
        """Give provisional documents their final vectors (one batch: one Chroma read, one update), then mark
        their records final, the commit point: a crash in between leaves them provisional, to be refined again.
        A record that is no longer the stored version, or no longer provisional, is skipped. Returns chunks."""
        registry = self._registry(fresh=False)  # the caller holds the write lock: nobody else changes it
        current = [registry.get(r.doc_id) for r in records]
        todo = {c.doc_id: c for r, c in zip(records, current)
                if c is not None and c.sha256 == r.sha256 and c.vectors == "provisional"}
        if not todo:
            return 0
        got = self.chunks.get(where={"doc_id": {"$in": list(todo)}}, include=["documents", "embeddings", "metadatas"])
        keep = [i for i, meta in enumerate(got["metadatas"]) if todo[meta["doc_id"]].sha256 == meta.get("sha256")]
        if keep:
            vectors = self.embedder.refine(np.asarray(got["embeddings"])[keep], [got["documents"][i] for i in keep])
            self.chunks.update(ids=[got["ids"][i] for i in keep], embeddings=vectors)
        self.registry.commit([replace(record, vectors="final") for record in todo.values()])
        self._known_state = self.state()
        return len(keep)

    @_serialized
    def set_title(self, doc_id: str, title: str) -> DocumentRecord | None:
        """Give a stored document a title by hand, kept when its file is ingested again: on its chunks first,
        then on its record (the commit point). None when there is no such document; ValueError for a blank title."""
        title = clean_title(title)
        if not title:
            raise ValueError("a title cannot be empty")
        record = self._registry(fresh=True).get(doc_id)
        if record is None:
            return None
        got = self.chunks.get(where={"doc_id": doc_id}, include=["metadatas"])
        if got["ids"]:
            self.chunks.update(ids=got["ids"], metadatas=[{**meta, "title": title} for meta in got["metadatas"]])
        record = replace(record, title=title, title_set=True)
        self.registry.commit([record])
        self._known_state = self.state()
        return record

    @_serialized
    def remove_document(self, doc_id: str) -> bool:
        if self.document(doc_id) is None:
            return False
        self.registry.remove(doc_id)
        self.chunks.delete(where={"doc_id": doc_id})
        self._known_state = self.state()
        return True

    @_serialized
    def repair(self) -> int:
        """Delete chunks that no committed document version owns (left by an interrupted ingest)."""
        committed = {(r.doc_id, r.sha256) for r in self._registry(fresh=True).values()}
        orphans = [
            chunk_id
            for chunk_id, meta in self._iter_chunk_metadata()
            if (meta.get("doc_id"), meta.get("sha256")) not in committed
        ]
        for start in range(0, len(orphans), PAGE):
            self.chunks.delete(ids=orphans[start : start + PAGE])
        if orphans:
            log.info("removed %s orphan chunks", len(orphans))
        return len(orphans)

    # --- reading ---
    def _iter_chunk_metadata(self) -> Iterator[tuple[str, dict]]:
        offset = 0
        while True:
            got = self.chunks.get(include=["metadatas"], limit=PAGE, offset=offset)
            yield from zip(got["ids"], got["metadatas"])
            if len(got["ids"]) < PAGE:
                return
            offset += PAGE

    @_serialized
    def committed_chunks(self) -> list[ScoredChunk]:
        """Every chunk of every committed document (for BM25), in a stable order."""
        committed = {(r.doc_id, r.sha256) for r in self._registry(fresh=True).values()}
        out: list[ScoredChunk] = []
        offset = 0
        while True:
            got = self.chunks.get(include=["documents", "metadatas"], limit=PAGE, offset=offset)
            for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"]):
                if (meta.get("doc_id"), meta.get("sha256")) in committed:
                    out.append(ScoredChunk(cid, text, meta, 0.0))
            if len(got["ids"]) < PAGE:
                break
            offset += PAGE
        return sorted(out, key=lambda c: c.chunk_id)

    @_serialized
    def dense_search(self, query_vector: list[float], k: int, where: dict | None = None,
                     with_vectors: bool = False) -> list[ScoredChunk]:
        """Nearest chunks by cosine similarity, only from committed document versions."""
        self._follow_other_writers()
        registry = self._registry(fresh=False)
        total = self.chunks.count()
        if total == 0:
            return []
        include = ["documents", "metadatas", "distances", *(["embeddings"] if with_vectors else [])]
        got = self.chunks.query(query_embeddings=[query_vector], n_results=min(k, total), where=where,
                                include=include)
        vectors = got["embeddings"][0] if with_vectors else [None] * len(got["ids"][0])
        out = []
        for cid, text, meta, dist, vector in zip(
            got["ids"][0], got["documents"][0], got["metadatas"][0], got["distances"][0], vectors
        ):
            if meta is None:  # deleted by another process (e.g. an ingest CLI) while this one holds the store open
                continue
            record = registry.get(meta.get("doc_id"))
            if record is not None and record.sha256 == meta.get("sha256"):
                stored = None if vector is None else np.asarray(vector, dtype=np.float32)
                out.append(ScoredChunk(cid, text, meta, 1.0 - float(dist), stored))
        return out

    @_serialized
    def document_chunks(self, doc_id: str) -> list[Chunk]:
        """The chunks of a committed document's stored version, in order; [] for no such document."""
        record = self._registry(fresh=False).get(doc_id)
        if record is None:
            return []
        got = self.chunks.get(where={"$and": [{"doc_id": doc_id}, {"sha256": record.sha256}]},
                              include=["documents", "metadatas"])
        chunks = [Chunk(text, meta) for text, meta in zip(got["documents"], got["metadatas"])]
        return sorted(chunks, key=lambda chunk: chunk.metadata.get("chunk_index", 0))

    @_serialized
    def document_text(self, doc_id: str) -> str:
        """The stored text of a committed document: its chunks in order, overlaps included."""
        record = self._registry(fresh=False).get(doc_id)
        if record is None:
            return ""
        key = (doc_id, record.sha256)
        if key in self._texts:
            self._texts.move_to_end(key)
            return self._texts[key]
        got = self.chunks.get(where={"$and": [{"doc_id": doc_id}, {"sha256": record.sha256}]},
                              include=["documents", "metadatas"])
        pairs = sorted(zip(got["metadatas"], got["documents"]), key=lambda pair: pair[0].get("chunk_index", 0))
        self._texts[key] = text = "\n".join(text for _, text in pairs)
        while len(self._texts) > _TEXTS_KEPT:
            self._texts.popitem(last=False)
        return text

    def languages(self) -> list[str]:
        """The languages of the committed documents."""
        return sorted({r.language for r in self._registry(fresh=False).values()})

    @_serialized
    def background(self) -> dict[str, np.ndarray]:
        """Language -> vectors of generic passages in that language, against which retrieval normalises a
        question's similarities (store/background.py). Embedded once per embedder and kept in the store."""
        if self._background is None:
            collection = self.client.get_or_create_collection(
                name=f"{self.settings.collection}-background", embedding_function=None,
                metadata={"kind": "background", "hnsw:space": "cosine"},
            )
            self._background = load_or_embed(collection, self.embedder)
        return self._background

def open_index(settings: Settings, embedder: NamedEmbeddings | None = None) -> ChromaIndex:
    from store.embedders import make_embedder

    return ChromaIndex(settings, embedder or make_embedder(settings))
