"""The document registry: one record per stored document, the commit point of its chunks.

A document's chunks are written first and its record last, so a reader that trusts only chunks whose
(doc_id, sha256) matches a record never sees a half-written document. A commit marker beside the records
changes with every commit, so that a reader can tell cheaply whether any writer (another app on the same
Chroma server, an ingest CLI) committed since it last read the records.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from store.client import PAGE
from store.records import DocumentRecord
from store.snapshot import load_records, save_records

_TTL_S = 2.0
_COMMIT_ID = "last"
REGISTRY_SUFFIX = "-documents"  # a collection's registry is the Chroma collection f"{collection}{REGISTRY_SUFFIX}"


@dataclass(frozen=True)
class Summary:
    """What every question asks of the records, computed once per snapshot of them instead of per question (at
    100,000 chunks, 20,000 records: about 25 ms a question)."""

    revision: str  # changes whenever a document's text is added, replaced or removed
    state: str  # the revision plus which documents are refined
    languages: tuple[str, ...]
    pending: tuple[DocumentRecord, ...]  # the documents whose vectors are still provisional, by source
    provisional: frozenset[str]  # their doc_ids
    chunks: int

    @classmethod
    def of(cls, records: dict[str, DocumentRecord]) -> Summary:
        texts = sorted((r.doc_id, r.sha256) for r in records.values())
        pending = tuple(sorted((r for r in records.values() if r.vectors == "provisional"), key=lambda r: r.source))
        vectors = sorted(r.doc_id for r in pending)
        revision, state = (hashlib.sha1(repr(x).encode()).hexdigest() for x in (texts, (texts, vectors)))
        return cls(revision, state, tuple(sorted({r.language for r in records.values()})), pending,
                   frozenset(vectors), sum(r.chunks for r in records.values()))


class DocumentRegistry:
    """The records, cached for a moment, and the revisions computed from them. Not thread-safe: the
    ChromaIndex in front of it serialises every call."""

    def __init__(self, client, collection: str, saved: Path | None = None, shared: bool = False) -> None:
        """`shared`: other processes may commit at any moment, with no lock in common (apps on one Chroma
        server): a commit of this process's own then never makes its cache current, since another may have
        committed between its check and its write, and the next fresh read reads the records again."""
        self._name = collection
        self._shared = shared
        self._saved = saved  # where the records are saved for the next process (store/snapshot.py)
        self._cache: tuple[float, dict[str, DocumentRecord]] | None = None
        self._cache_commit: str | None = None  # the commit marker when the cached records were read
        self._last_commit: str | None = None
        self._marker_read: tuple[float, str | None] | None = None  # (when, marker) of the last read
        self._summary: Summary | None = None
        self._summary_of: dict[str, DocumentRecord] | None = None
        self.attach(client)

    def attach(self, client) -> None:
        """Use the collections through `client` (a store opened afresh); what is cached stays valid."""
        self.records_collection = client.get_or_create_collection(
            name=f"{self._name}{REGISTRY_SUFFIX}", embedding_function=None, metadata={"kind": "registry"}
        )
        self.commits = client.get_or_create_collection(
            name=f"{self._name}-commits", embedding_function=None, metadata={"kind": "commits"}
        )

    def records(self, fresh: bool) -> dict[str, DocumentRecord]:
        """doc_id -> record. The cached records are read again only when a writer has committed since they were
        read (one small read of the commit marker tells), from the records saved for that commit when there are
        (store/snapshot.py), else from Chroma: at 100,000 chunks reading every record takes seconds.
        `fresh=False` also skips the marker's read for a couple of seconds after the last one."""
        if self._cache and not fresh and time.monotonic() - self._cache[0] < _TTL_S:
            return self._cache[1]
        marker = self.commit_marker()
        if self._cache and self._cache_commit is not None and marker == self._cache_commit:
            self._cache = (time.monotonic(), self._cache[1])
            return self._cache[1]
        saved = load_records(self._saved, marker)
        if saved is None:
            return self.reread()
        self._cache, self._cache_commit = (time.monotonic(), saved), marker
        return saved

    def reread(self) -> dict[str, DocumentRecord]:
        """Every record, read from the store whatever is cached (e.g. before deleting chunks no record owns: a
        writer that stopped between writing its records and marking the commit left the marker unchanged)."""
        marker = self.commit_marker()  # before the records: a commit during the read shows as a newer marker
        records: dict[str, DocumentRecord] = {}
        offset = 0
        while True:
            got = self.records_collection.get(include=["metadatas"], limit=PAGE, offset=offset)
            for meta in got["metadatas"]:
                record = DocumentRecord.from_metadata(meta)
                records[record.doc_id] = record
            if len(got["ids"]) < PAGE:
                break
            offset += PAGE
        self._cache, self._cache_commit = (time.monotonic(), records), marker
        save_records(self._saved, marker, records)
        return records

    def commit_marker(self, reuse_s: float = 0.0) -> str | None:
        """Changes with every commit, by any writer (one small read; the last one read when it is under `reuse_s`
        seconds old)."""
        now = time.monotonic()
        if reuse_s and self._marker_read is not None and now - self._marker_read[0] < reuse_s:
            return self._marker_read[1]
        got = self.commits.get(ids=[_COMMIT_ID], include=["metadatas"])
        marker = got["metadatas"][0].get("id") if got["metadatas"] else None
        self._marker_read = (now, marker)
        return marker

    @property
    def last_commit(self) -> str | None:
        """The commit marker as this process last wrote or saw it."""
        return self._last_commit

    def forget(self) -> None:
        """Drop the cached records: the next read goes to the store."""
        self._cache = None

    def follow_commits(self) -> None:
        """Forget the cached records when any writer committed since they were read: one small read, so that
        each question sees every commit made before it."""
        last = self.commit_marker()
        if last != self._last_commit:
            self._last_commit = last
            self.forget()

    def commit(self, records: list[DocumentRecord]) -> None:
        """Write records (the commit point of their documents' chunks), mark the commit, update the cache."""
        if not records:
            return
        current = self._cache_is_current()
        self.records_collection.upsert(
            ids=[r.doc_id for r in records], embeddings=[[1.0]] * len(records),
            metadatas=[r.as_metadata() for r in records], documents=[r.title for r in records],
        )
        self._note_commit()
        self._remember({r.doc_id: r for r in records}, current)

    def remove(self, doc_id: str) -> None:
        """Withdraw a document's record: from now on none of its chunks counts."""
        current = self._cache_is_current()
        self.records_collection.delete(ids=[doc_id])
        self._note_commit()
        self._remember({doc_id: None}, current)

    def mark_commit(self) -> None:
        """Mark a commit without writing a record, so that every reader reads the records again: for a repair that
        found records a stopped writer wrote but never marked, or removed chunks other processes still index."""
        current = self._cache_is_current()
        self._note_commit()
        self._remember({}, current)

    def _cache_is_current(self) -> bool:
        """Whether the cached records hold every commit so far (checked by a writer, under the write lock,
        before it commits); never on a shared server, where another writer may commit right after the check."""
        return (not self._shared and self._cache is not None and self._cache_commit is not None
                and self.commit_marker() == self._cache_commit)

    def _note_commit(self) -> None:
        self._last_commit = uuid.uuid4().hex
        self.commits.upsert(ids=[_COMMIT_ID], embeddings=[[1.0]], metadatas=[{"id": self._last_commit}])
        self._marker_read = None

    def _remember(self, changes: dict[str, DocumentRecord | None], current: bool) -> None:
        """Apply this process's own changes (None: removed) to the cache instead of re-reading the records; when
        the cache held every earlier commit (`current`), it now holds this one too, so the next read needs none.
        The cache is copied, once per batch, because the revisions tell snapshots apart by identity."""
        if self._cache is None:
            return
        records = dict(self._cache[1])
        for doc_id, record in changes.items():
            if record is None:
                records.pop(doc_id, None)
            else:
                records[doc_id] = record
        self._cache = (self._cache[0], records)
        if current:
            self._cache_commit = self._last_commit
            save_records(self._saved, self._last_commit, records)

    def summary(self) -> Summary:
        """The records' summary, computed once per snapshot (the cache's records are replaced, never changed)."""
        records = self.records(fresh=False)
        if self._summary is None or self._summary_of is not records:
            self._summary, self._summary_of = Summary.of(records), records
        return self._summary
