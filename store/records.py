"""What the store keeps per document and per chunk."""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field

_DOCUMENT_ID = re.compile(r"[0-9a-f]{16}")
MAX_TITLE_CHARS = 300


def document_id(source: str) -> str:
    """A document's identity is its source path; its version is the sha256 of its content."""
    return hashlib.sha1(source.encode("utf-8")).hexdigest()[:16]


def is_document_id(value: str) -> bool:
    """Whether `value` has the shape of a document_id (16 hex digits): nothing else can name a document."""
    return bool(_DOCUMENT_ID.fullmatch(value))


def clean_title(value: str) -> str:
    """A title as stored: one line, at most MAX_TITLE_CHARS characters."""
    return " ".join(value.split())[:MAX_TITLE_CHARS].strip()


@dataclass(frozen=True)
class DocumentRecord:
    doc_id: str
    source: str
    title: str
    language: str
    sha256: str
    chunks: int
    ingested_at: str
    edition: str = ""  # documents sharing an edition key are translations of one report
    vectors: str = "final"  # "provisional": stored with the fast half of a fused embedder, refine() pending
    upload_key: str = ""  # a hash of the name it was uploaded under; "" from disk, or uploaded before it was kept
    title_set: bool = False  # the title was given by hand (ingest --title, the admin API): a new version keeps it

    def as_metadata(self) -> dict:
        return asdict(self)

    def chunk_ids(self) -> list[str]:
        """The ids of this version's chunks, in order: a read by ids is much cheaper than a metadata filter."""
        return [chunk_id(self.doc_id, self.sha256, i) for i in range(self.chunks)]

    @classmethod
    def from_metadata(cls, meta: dict) -> DocumentRecord:
        return cls(**{k: meta[k] for k in cls.__dataclass_fields__ if k in meta})


@dataclass
class Chunk:
    text: str
    metadata: dict = field(default_factory=dict)

    @property
    def chunk_id(self) -> str:
        m = self.metadata
        return chunk_id(m["doc_id"], m["sha256"], m["chunk_index"])


def chunk_id(doc_id: str, sha256: str, index: int) -> str:
    """A chunk's id names one version of a document's chunk: a committed record's are index 0 to chunks - 1."""
    return f"{doc_id}:{sha256[:12]}:{index}"
