"""Refinement: documents stored with provisional vectors (a refinable embedder's fast half, searchable at once)
get their final vectors later, in batches the ingest chooses.

Each batch reads the stored chunks (`read`), is re-embedded by the caller without the store's lock (seconds of mE5
that would hold up every collection's questions), and is written back through the vectors' one write method with
the records marked final through the registry (`write`): the commit point. `write` first checks that each record
is still the version read: a document replaced, retitled or refined meanwhile is left as it now is. A crash in
between leaves the records provisional, to be refined again.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from store.embedders import NamedEmbeddings
from store.records import Chunk, DocumentRecord
from store.registry import DocumentRegistry
from store.vectors import ChunkVectors


@dataclass(frozen=True)
class RefineBatch:
    """What `read` found: the provisional records, and their stored chunks with the vectors to refine."""

    records: dict[str, DocumentRecord]
    chunks: list[Chunk]
    vectors: np.ndarray

    @property
    def texts(self) -> list[str]:
        return [c.text for c in self.chunks]


class VectorRefiner:
    """Not thread-safe: the ChromaIndex in front of it calls `read` and `write` under its lock."""

    def __init__(self, registry: DocumentRegistry, vectors: ChunkVectors, embedder: NamedEmbeddings) -> None:
        self.registry, self.vectors, self.embedder = registry, vectors, embedder

    def read(self, records: list[DocumentRecord]) -> RefineBatch | None:
        """The stored chunks of these documents' current versions, when still provisional (one read); None when
        none is. A record that is no longer the stored version, or no longer provisional, is skipped."""
        stored = self.registry.records(fresh=False)
        todo: dict[str, DocumentRecord] = {}
        for record in records:
            current = stored.get(record.doc_id)
            if current is not None and current.sha256 == record.sha256 and current.vectors == "provisional":
                todo[current.doc_id] = current
        if not todo:
            return None
        chunks, vectors = self.vectors.stored(list(todo))
        keep = [i for i, c in enumerate(chunks) if todo[c.metadata["doc_id"]].sha256 == c.metadata.get("sha256")]
        return RefineBatch(todo, [chunks[i] for i in keep], vectors[keep])

    def write(self, batch: RefineBatch, refined: np.ndarray) -> int:
        """Write the refined vectors (one write) of the documents whose record is still the one read, then commit
        those records as final. Returns chunks written."""
        stored = self.registry.records(fresh=True)
        same = {doc_id: record for doc_id, record in batch.records.items() if stored.get(doc_id) == record}
        keep = [i for i, c in enumerate(batch.chunks) if c.metadata["doc_id"] in same]
        if keep:
            self.vectors.write([batch.chunks[i] for i in keep], refined[keep])
        self.registry.commit([replace(record, vectors="final") for record in same.values()])
        return len(keep)
