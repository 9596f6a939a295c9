"""ChromaIndex: the store's front. The chunk vectors (store/vectors.py) and the registry of documents, their
commit point (store/registry.py), opened and reopened together, one call at a time, with a Chroma server that
does not answer reported as StoreUnavailable. Orphans left by a crash are removed by `repair()` at the next ingest.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import replace

import chromadb.errors
import numpy as np

from settings import Settings
from store.background import load_or_embed
from store.client import embedded_store, make_chroma_client, reopen_embedded
from store.collections import stored_collections
from store.embedders import NamedEmbeddings
from store.errors import server_faults
from store.records import Chunk, DocumentRecord, clean_title
from store.refine import RefineBatch, VectorRefiner
from store.registry import DocumentRegistry
from store.snapshot import saved_registry_path
from store.vectors import ChunkVectors, ScoredChunk, shard_language

log = logging.getLogger(__name__)

_READ_PAGE = 1000  # chunks per read of every chunk: one page holds the lock for a fraction of a second
_REOPEN_PAUSES_S = (0.2, 0.5, 1.0)  # two ingests writing small batches can outlast one reopen
# a question's searches reuse the commit marker read when it began (ForumQA follows the commits first): one
# read per question, not one per search. Writers always read it afresh.
_MARKER_REUSE_S = 0.25


def _serialized(method):
    """One Chroma call at a time per index: concurrent readers in one process can race Chroma's log backfill
    after another process (an ingest) wrote, which fails with InternalError; a later try then succeeds."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self._lock, server_faults(self.settings):
            self._follow_shared_client()
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


class ChromaIndex:
    def __init__(self, settings: Settings, embedder: NamedEmbeddings, client=None) -> None:
        self.settings = settings
        self.embedder = embedder
        # Embedded: the client and lock of the store folder, shared with every other collection opened on it.
        self._shared = None if settings.chroma_host else embedded_store(settings)
        self._lock = self._shared.lock if self._shared else threading.RLock()
        self._generation = self._shared.generation if self._shared else 0
        self.registry: DocumentRegistry | None = None
        self.vectors: ChunkVectors | None = None
        self._background: dict[str, np.ndarray] | None = None
        with self._lock, server_faults(settings):
            self._open(client or make_chroma_client(settings))
            # what this process has seen committed: an embedded reader reopens the store when it changes
            self._known_commit = self.registry.commit_marker()

    @property
    def client(self):
        """The store's current client (an embedded store's is shared, and replaced when opened afresh)."""
        return self._shared.client if self._shared is not None else self._client

    def _open(self, client) -> None:
        self._client = client
        if self.vectors is None:  # the first opening; a reopening keeps what they cache
            self.vectors = ChunkVectors(client, self.settings.collection, self.embedder)
            self.registry = DocumentRegistry(client, self.settings.collection, saved_registry_path(self.settings),
                                             shared=bool(self.settings.chroma_host))
            self.refiner = VectorRefiner(self.registry, self.vectors, self.embedder)
        else:
            self.vectors.attach(client)
            self.registry.attach(client)

    def _follow_other_writers(self, reuse_s: float = 0.0) -> None:
        """An embedded client keeps its vector index in memory and misses what another process (the ingest CLI
        beside the web app) added or refined; when the registry shows such a change, open the store afresh.
        `reuse_s`: a marker read that recently will do (a search; never before a write)."""
        if self._shared is None:
            return
        marker = self.registry.commit_marker(reuse_s=reuse_s)
        if marker != self._known_commit and marker == self._shared.written.get(self.settings.collection):
            self._known_commit = marker  # written through this process's client, which holds it already
        elif marker != self._known_commit:
            log.info("store changed by another process; reopening it")
            self._reopen()
            self._known_commit = marker

    def _reopen(self) -> None:
        """Open the embedded store afresh: once for every collection on it (store/client.py)."""
        if self._shared is None:
            return
        reopen_embedded(self._shared, self._generation)
        self._follow_shared_client()

    def _follow_shared_client(self) -> None:
        """Use the store's current client: another collection's index may have opened the store afresh."""
        if self._shared is not None and self._generation != self._shared.generation:
            self._open(self._shared.client)
            self._generation = self._shared.generation

    def _own_commit(self, before: str | None) -> None:
        """This process's own writes are no reason to reopen the store, for this index or another on it.
        `before`: registry.last_commit when the call began; when the call committed nothing it is unchanged, and
        may be older than what this process has seen since (another index's commit), so it is no commit to note."""
        if self.registry.last_commit == before:
            return
        self._known_commit = self.registry.last_commit
        if self._shared is not None and self._known_commit is not None:
            self._shared.written[self.settings.collection] = self._known_commit

    @_serialized
    def collection_names(self) -> list[str]:
        """The collections the store holds, this index's first (store/collections.py), listed under the store's
        lock: a reopening of the store (another collection's index may start one) stops the client it replaces."""
        return stored_collections(self.settings, self.client)

    # --- documents (registry) ---
    @_serialized
    def documents(self, fresh: bool = True) -> list[DocumentRecord]:
        return sorted(self.registry.records(fresh).values(), key=lambda r: r.source)

    @_serialized
    def document(self, doc_id: str) -> DocumentRecord | None:
        return self.registry.records(fresh=True).get(doc_id)

    @_serialized
    def follow_commits(self) -> None:
        """Forget the cached registry when any writer committed since it was read (store/registry.py)."""
        self.registry.follow_commits()

    @_serialized
    def revision(self) -> str:
        """Changes whenever a document's text is added, replaced or removed; refining vectors leaves it alone."""
        return self.registry.summary().revision

    @_serialized
    def state(self) -> str:
        """The revision plus which documents are refined: an embedded reader reopens the store when it changes."""
        return self.registry.summary().state

    @_serialized
    def chunk_total(self) -> int:
        return self.registry.summary().chunks

    # --- writing ---
    def write_documents(self, items: list[tuple[DocumentRecord, list[Chunk]]], replaced: set[str]) -> int:
        """Store every chunk of a batch of documents, then commit their records, then drop the previous versions
        of the documents in `replaced`. One Chroma write each, not one per document. Returns texts embedded.

        The texts are embedded before the store's lock is taken: that takes seconds, and the lock is shared by
        every collection in the store folder. With a refinable embedder the chunks get provisional vectors and
        the records say so; `refine()` follows."""
        chunks = [c for _, doc_chunks in items for c in doc_chunks]
        provisional = self.embedder.refinable
        embed = self.embedder.embed_provisional if provisional else self.embedder.embed_documents
        vectors = embed([c.text for c in chunks]) if chunks else []
        records = [replace(record, vectors="provisional") if provisional else record for record, _ in items]
        self._store_documents(records, chunks, vectors, replaced)
        return len(chunks)

    @_serialized
    def _store_documents(self, records: list[DocumentRecord], chunks: list[Chunk], vectors, replaced: set[str]) -> None:
        before = self.registry.last_commit
        self._follow_other_writers()  # before writing: the commits seen since are another's
        if chunks:
            self.vectors.write(chunks, vectors)
        self.registry.commit(records)
        for record in records:
            if record.doc_id in replaced:
                self.vectors.delete(record.doc_id, keep_sha256=record.sha256)
        self._own_commit(before)

    @_serialized
    def pending_refinement(self) -> list[DocumentRecord]:
        """Provisional documents by source, from the cached registry: a writer holding the lock knows its own
        changes."""
        return list(self.registry.summary().pending)

    @_serialized
    def provisional(self) -> frozenset[str]:
        """The doc_ids of the provisional documents."""
        return self.registry.summary().provisional

    def refine(self, records: list[DocumentRecord]) -> int:
        """Give provisional documents their final vectors (store/refine.py): the stored chunks are read under the
        store's lock, embedded without it, and written under it again if their record did not change meanwhile.
        Returns chunks refined."""
        batch = self._read_for_refining(records)
        if batch is None:
            return 0
        refined = self.embedder.refine(batch.vectors, batch.texts) if batch.chunks else batch.vectors
        return self._write_refined(batch, refined)

    @_serialized
    def _read_for_refining(self, records: list[DocumentRecord]) -> RefineBatch | None:
        self._follow_other_writers()
        return self.refiner.read(records)

    @_serialized
    def _write_refined(self, batch: RefineBatch, refined: np.ndarray) -> int:
        before = self.registry.last_commit
        self._follow_other_writers()  # before writing: the commits seen since are another's
        written = self.refiner.write(batch, refined)
        self._own_commit(before)
        return written

    @_serialized
    def set_title(self, doc_id: str, title: str) -> DocumentRecord | None:
        """Give a stored document a title by hand, kept when its file is ingested again: on its chunks first,
        then on its record (the commit point). None when there is no such document; ValueError for a blank title."""
        title = clean_title(title)
        if not title:
            raise ValueError("a title cannot be empty")
        before = self.registry.last_commit
        self._follow_other_writers()  # before writing: the commits seen since are another's
        record = self.registry.records(fresh=True).get(doc_id)
        if record is None:
            return None
        self.vectors.retitle(doc_id, title)
        record = replace(record, title=title, title_set=True)
        self.registry.commit([record])
        self._own_commit(before)
        return record

    @_serialized
    def remove_document(self, doc_id: str) -> bool:
        before = self.registry.last_commit
        self._follow_other_writers()  # before writing: the commits seen since are another's
        if self.document(doc_id) is None:
            return False
        self.registry.remove(doc_id)
        self.vectors.delete(doc_id)
        self._own_commit(before)
        return True

    @_serialized
    def repair(self) -> int:
        """Delete chunks that no committed document version owns (left by an interrupted ingest). Chunks are
        written before their record and deleted after it, so a store whose chunk count is the sum of its records'
        holds none: the scan of every chunk (20 s at 100,000 chunks) runs only when the counts differ. When it finds
        records the cache lacked (a writer stopped before marking its commit) or removes chunks, it marks a commit,
        so that running readers read the records again and embedded ones reopen the store."""
        cached = self.registry.records(fresh=True)
        if self.vectors.count() == sum(r.chunks for r in cached.values()):
            return 0
        records = self.registry.reread()
        orphans = self.vectors.delete_uncommitted(records)
        if orphans:
            log.info("removed %s orphan chunks", orphans)
        if orphans or records != cached:  # readers trust their records while the marker stays: move it
            before = self.registry.last_commit
            self.registry.mark_commit()
            self._own_commit(before)
        return orphans

    # --- reading ---
    def committed_chunks(self) -> list[ScoredChunk]:
        """Every chunk of every committed document, in a stable order (tools and tests)."""
        return sorted(self.iter_committed_chunks(), key=lambda c: c.chunk_id)

    def iter_committed_chunks(self) -> Iterator[ScoredChunk]:
        """Every chunk of the documents committed when the read began (chunks_of)."""
        yield from self.chunks_of(self._committed_records().values())

    def chunks_of(self, records: Iterable[DocumentRecord]) -> Iterator[ScoredChunk]:
        """The chunks of these committed document versions, looked up by id (a record names its chunks) a page
        at a time: the lock is held for one page's read, never for the whole (17 s for every chunk of 100,000),
        so questions and writes go on in between, and only a page of texts is held at once. A version's chunks
        deleted since (it was replaced or removed) are left out."""
        by_id = {record.doc_id: record for record in records}
        by_shard: dict[str, list[DocumentRecord]] = defaultdict(list)
        for record in by_id.values():
            by_shard[shard_language(record.language)].append(record)
        for language, members in by_shard.items():
            ids = [cid for record in sorted(members, key=lambda r: r.doc_id) for cid in record.chunk_ids()]
            for start in range(0, len(ids), _READ_PAGE):
                yield from self._chunks_by_id(language, ids[start : start + _READ_PAGE], by_id)

    @_serialized
    def _committed_records(self) -> dict[str, DocumentRecord]:
        return self.registry.records(fresh=True)

    @_serialized
    def _chunks_by_id(self, language: str, ids: list[str], records: dict[str, DocumentRecord]) -> list[ScoredChunk]:
        return self.vectors.chunks_by_id(language, ids, records)

    @_serialized
    def dense_search(self, query_vector: list[float], k: int, with_vectors: bool = False,
                     language: str | None = None, ids: list[str] | None = None,
                     doc_id: str | None = None) -> list[ScoredChunk]:
        """Nearest chunks by cosine similarity, only from committed document versions: of documents in `language`,
        else of all; among the chunks `ids` only, or those of the committed document `doc_id`, when given."""
        self._follow_other_writers(_MARKER_REUSE_S)
        records = self.registry.records(fresh=False)
        if doc_id is not None:
            record = records.get(doc_id)
            if record is None:
                return []
            ids, language = record.chunk_ids(), record.language
        return self.vectors.search(query_vector, k, records, with_vectors, language, ids)

    @_serialized
    def stored_rows(self, where: dict | None = None, include: tuple[str, ...] = ("metadatas",)) -> dict[str, list]:
        """Every stored chunk row, committed or not, as chromadb's get() returns them: for tools and tests."""
        return self.vectors.rows(where, include)

    @_serialized
    def document_chunks(self, doc_id: str) -> list[Chunk]:
        """The chunks of a committed document's stored version, in order; [] for no such document."""
        record = self.registry.records(fresh=False).get(doc_id)
        return [] if record is None else self.vectors.document_chunks(record)

    @_serialized
    def document_text(self, doc_id: str) -> str:
        """The stored text of a committed document: its chunks in order, overlaps included."""
        record = self.registry.records(fresh=False).get(doc_id)
        return "" if record is None else self.vectors.document_text(record)

    @_serialized
    def languages(self) -> list[str]:
        """The languages of the committed documents."""
        return list(self.registry.summary().languages)

    @_serialized
    def background(self) -> dict[str, np.ndarray]:
        """Language -> vectors of generic passages in that language, against which retrieval normalises a
        question's similarities (store/background.py). Embedded once per embedder and kept in the store."""
        if self._background is None:
            self._background = load_or_embed(self.client, self.settings.collection, self.embedder)
        return self._background


def open_index(settings: Settings, embedder: NamedEmbeddings | None = None) -> ChromaIndex:
    from store.embedders import make_embedder

    return ChromaIndex(settings, embedder or make_embedder(settings))
