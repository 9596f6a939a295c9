"""The only code that talks to Chroma: client, index bookkeeping, embedders."""

from store.chroma_index import ChromaIndex, open_index
from store.embedders import NamedEmbeddings, make_embedder
from store.errors import EmbedderMismatch, QuestionLogUnavailable, StoreError, StoreLocked, StoreUnavailable
from store.lock import write_lock
from store.records import MAX_TITLE_CHARS, Chunk, DocumentRecord, clean_title, document_id, is_document_id
from store.vectors import ScoredChunk

__all__ = [
    "MAX_TITLE_CHARS", "ChromaIndex", "Chunk", "DocumentRecord", "EmbedderMismatch", "NamedEmbeddings",
    "QuestionLogUnavailable", "ScoredChunk", "StoreError", "StoreLocked", "StoreUnavailable", "clean_title",
    "document_id", "is_document_id", "make_embedder", "open_index", "write_lock",
]
