"""Refinement: documents stored with provisional vectors (a refinable embedder's fast half, searchable at once)
get their final vectors later, in batches the ingest chooses.

Each batch reads the stored chunks, re-embeds them, writes them back through the vectors' one write method, and
then marks the records final through the registry: the commit point. A crash in between leaves the records
provisional, to be refined again.
"""

from __future__ import annotations

from dataclasses import replace

from store.embedders import NamedEmbeddings
from store.records import DocumentRecord
from store.registry import DocumentRegistry
from store.vectors import ChunkVectors


class VectorRefiner:
    """Not thread-safe, and meant for a writer holding the write lock: the ChromaIndex in front of it serialises
    every call, and the cached registry is then the current one."""

    def __init__(self, registry: DocumentRegistry, vectors: ChunkVectors, embedder: NamedEmbeddings) -> None:
        self.registry, self.vectors, self.embedder = registry, vectors, embedder

    def pending(self) -> list[DocumentRecord]:
        """The documents whose vectors are still provisional, by source."""
        records = self.registry.records(fresh=False)
        return sorted((r for r in records.values() if r.vectors == "provisional"), key=lambda r: r.source)

    def refine(self, records: list[DocumentRecord]) -> int:
        """Give these documents their final vectors (one read, one write), then commit their records as final.
        A record that is no longer the stored version, or no longer provisional, is skipped. Returns chunks."""
        stored = self.registry.records(fresh=False)
        todo: dict[str, DocumentRecord] = {}
        for record in records:
            current = stored.get(record.doc_id)
            if current is not None and current.sha256 == record.sha256 and current.vectors == "provisional":
                todo[current.doc_id] = current
        if not todo:
            return 0
        chunks, vectors = self.vectors.stored(list(todo))
        keep = [i for i, c in enumerate(chunks) if todo[c.metadata["doc_id"]].sha256 == c.metadata.get("sha256")]
        if keep:
            kept = [chunks[i] for i in keep]
            self.vectors.write(kept, self.embedder.refine(vectors[keep], [c.text for c in kept]))
        self.registry.commit([replace(record, vectors="final") for record in todo.values()])
        return len(keep)
