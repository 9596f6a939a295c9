"""Files on disk to committed documents in the index, one file at a time, skipping unchanged content."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ingest.chunking import make_splitter
from ingest.errors import EmptyDocument, FileTooLarge, IngestError, UnsupportedFormat
from ingest.loaders import LOADERS, LoadedDocument
from ingest.parse_worker import parse_in_worker
from settings import Settings
from store import MAX_TITLE_CHARS, ChromaIndex, Chunk, DocumentRecord, document_id, write_lock
from textkit.language import detect_document_language

log = logging.getLogger(__name__)
_LANG_SUFFIX = re.compile(r"[._-](en|es|zh|zh-cn|zh-hans|cn|eng|esp|spa|chi)$", re.IGNORECASE)


@dataclass
class FileOutcome:
    path: str
    status: str  # added | updated | unchanged | failed
    reason: str = ""
    chunks: int = 0
    language: str = ""


@dataclass
class IngestReport:
    outcomes: list[FileOutcome] = field(default_factory=list)
    chunks_embedded: int = 0
    orphans_removed: int = 0
    chunks_refined: int = 0
    left_provisional: int = 0  # documents still waiting for their final vectors (refine=False)

    @property
    def failed(self) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)


def collect_files(paths: Iterable[Path]) -> list[Path]:
    """Files named, plus every non-hidden file under the folders named."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                p for p in sorted(path.rglob("*"))
                if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        else:
            files.append(path)
    return files


def edition_key(path: Path) -> str:
    """Translations share a name but for a language suffix: report.en.md, report-es.md -> report."""
    return str(path.parent / _LANG_SUFFIX.sub("", path.stem))


def parse_file(path: Path, data: bytes, settings: Settings) -> LoadedDocument:
    """The file's title and sections, parsed in a child process within the time and size budget."""
    if path.suffix.lower() not in LOADERS:
        raise UnsupportedFormat(f"unsupported file type '{path.suffix or '(none)'}'")
    if not data.strip():
        raise EmptyDocument("empty file")
    loaded = parse_in_worker(path.name, data, settings)
    if not loaded.text.strip():
        raise EmptyDocument("no text could be extracted")
    return loaded


def make_chunks(loaded: LoadedDocument, record: DocumentRecord, settings: Settings) -> list[Chunk]:
    splitter = make_splitter(settings.chunk_size, settings.chunk_overlap, settings.cjk_char_weight)
    chunks: list[Chunk] = []
    for section in loaded.sections:
        for piece in splitter.split_text(section.text):
            meta = {
                "doc_id": record.doc_id, "source": record.source, "title": record.title,
                "language": record.language, "sha256": record.sha256, "edition": record.edition,
                "chunk_index": len(chunks), "section": section.heading, "ingested_at": record.ingested_at,
            }
            if section.page is not None:
                meta["page"] = section.page
            chunks.append(Chunk(piece, meta))
    return chunks


@dataclass
class PreparedDocument:
    record: DocumentRecord
    chunks: list[Chunk]
    replaces_previous: bool


def prepare_file(path: Path, settings: Settings, known: dict[str, DocumentRecord],
                 content: Path | None = None, upload_key: str = "") -> PreparedDocument | FileOutcome:
    """Parse and chunk one file, or say that it is unchanged. Raises IngestError for a bad file. Takes no lock.

    `content`: where the file's bytes are when they are not yet at `path`, its identity (a staged upload);
    `upload_key`: the upload's name, hashed (kept from the previous version when not given)."""
    content = content or path
    if not content.exists():
        raise IngestError("no such file")
    source = str(path.resolve())
    size = content.stat().st_size
    if size > settings.max_file_mb * 1024 * 1024:
        raise FileTooLarge(f"file is {size / 1048576:.1f} MB (limit {settings.max_file_mb:g} MB)")
    data = content.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    doc_id = document_id(source)
    previous = known.get(doc_id)
    if previous is not None and previous.sha256 == sha:
        return FileOutcome(source, "unchanged", chunks=previous.chunks, language=previous.language)
    loaded = parse_file(path, data, settings)
    title_set = previous is not None and previous.title_set
    record = DocumentRecord(
        doc_id=doc_id, source=source, title_set=title_set,
        title=previous.title if title_set else (loaded.title or path.stem).strip()[:MAX_TITLE_CHARS],
        language=detect_document_language(loaded.text), sha256=sha, chunks=0,
        ingested_at=datetime.now(UTC).isoformat(timespec="seconds"), edition=edition_key(path.resolve()),
        upload_key=upload_key or (previous.upload_key if previous is not None else ""),
    )
    chunks = make_chunks(loaded, record, settings)
    record = DocumentRecord(**{**record.as_metadata(), "chunks": len(chunks)})
    return PreparedDocument(record, chunks, previous is not None)


def prepare_or_fail(path: Path, settings: Settings, known: dict[str, DocumentRecord],
                    content: Path | None = None, upload_key: str = "") -> PreparedDocument | FileOutcome:
    """prepare_file, with a bad file's error as a failed outcome."""
    try:
        return prepare_file(path, settings, known, content, upload_key)
    except IngestError as exc:
        return FileOutcome(str(path), "failed", str(exc))
    except (OSError, RecursionError, MemoryError) as exc:
        return FileOutcome(str(path), "failed", f"{type(exc).__name__}: {exc}")


def write_prepared(index: ChromaIndex, documents: list[PreparedDocument]) -> list[FileOutcome]:
    """Commit prepared documents in one Chroma write; the caller holds the write lock. The registry is read
    afresh: another writer may have stored a document since it was prepared (then same content is unchanged)."""
    current = {r.doc_id: r for r in index.documents()}
    outcomes, todo = [], []
    for d in documents:
        previous = current.get(d.record.doc_id)
        if previous is not None and previous.sha256 == d.record.sha256:
            outcomes.append(FileOutcome(d.record.source, "unchanged", chunks=previous.chunks,
                                        language=previous.language))
        else:
            todo.append((d, previous is not None))
    replaced = {d.record.doc_id for d, replaces in todo if replaces}
    if todo:
        index.write_documents([(d.record, d.chunks) for d, _ in todo], replaced)
    for d, replaces in todo:
        outcomes.append(FileOutcome(d.record.source, "updated" if replaces else "added", chunks=len(d.chunks),
                                    language=d.record.language))
    return outcomes


class _BatchWriter:
    """Collects prepared documents and writes them to the index a batch at a time (one Chroma write per batch),
    holding the write lock only while it writes; each outcome is reported once its batch is committed."""

    def __init__(self, index: ChromaIndex, settings: Settings, emit: Callable[[FileOutcome], None]) -> None:
        self.index, self.settings, self.emit = index, settings, emit
        self.pending: list[PreparedDocument] = []

    def add(self, document: PreparedDocument) -> None:
        self.pending.append(document)
        if sum(len(d.chunks) for d in self.pending) >= self.settings.write_batch_chunks:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        batch, self.pending = self.pending, []
        with write_lock(self.settings, patient=True):
            outcomes = write_prepared(self.index, batch)
        for outcome in outcomes:
            self.emit(outcome)


def ingest_paths(
    paths: Iterable[Path],
    index: ChromaIndex,
    settings: Settings,
    progress=None,
    on_outcome: Callable[[FileOutcome], None] | None = None,
    refine: bool = True,
    on_refining: Callable[[int], None] | None = None,
) -> IngestReport:
    """Ingest every file; a bad file is reported and skipped, never aborting the others.

    `progress` wraps the file list (e.g. tqdm); `on_outcome` hears about each file once it is committed.
    Files are parsed without the store's write lock (in a child process, within the parse budget); the lock is
    taken for each batch's write and for refining. With a fused embedder every document is committed
    (searchable) first; then, when `refine`, every provisional document in the store gets its final vectors,
    `on_refining` hearing how many chunks that will take."""
    report = IngestReport()

    def emit(outcome: FileOutcome) -> None:
        report.outcomes.append(outcome)
        if on_outcome:
            on_outcome(outcome)

    with write_lock(settings):
        report.orphans_removed = index.repair()
    known = {r.doc_id: r for r in index.documents()}
    embedded_before = index.embedder.documents_embedded
    writer = _BatchWriter(index, settings, emit)
    files = collect_files(paths)
    for path in progress(files) if progress else files:
        prepared = prepare_or_fail(path, settings, known)
        if isinstance(prepared, PreparedDocument):
            writer.add(prepared)
        else:
            emit(prepared)
    writer.flush()
    report.chunks_embedded = index.embedder.documents_embedded - embedded_before
    report.chunks_refined, report.left_provisional = finish_writing(index, settings, refine, on_refining)
    # Outcomes arrive in commit order (batches); the report lists them in the order of the files given.
    position = {str(p): i for i, p in enumerate(files)} | {str(p.resolve()): i for i, p in enumerate(files)}
    report.outcomes.sort(key=lambda o: position.get(o.path, len(files)))
    return report


def finish_writing(index: ChromaIndex, settings: Settings, refine: bool = True,
                   on_refining: Callable[[int], None] | None = None, patient: bool = True) -> tuple[int, int]:
    """When `refine`, give every provisional document its final vectors (under the write lock, see write_lock
    for `patient`). Returns (chunks refined, documents left provisional)."""
    with write_lock(settings, patient=patient):
        index.documents()  # afresh: other writers may have committed between this writer's batches
        pending = index.pending_refinement()
        if not refine:
            return 0, len(pending)
        refined = _refine(index, pending, on_refining, settings.write_batch_chunks)
        index.background()  # embedded once here, not on a visitor's first question
        return refined, 0


def refine_pending(index: ChromaIndex, settings: Settings, on_refining: Callable[[int], None] | None = None) -> int:
    """Give every provisional document its final vectors (after `ingest --no-refine` or an interrupted ingest)."""
    with write_lock(settings):
        index.repair()
        refined = _refine(index, index.pending_refinement(), on_refining, settings.write_batch_chunks)
        index.background()
        return refined


def _refine(index: ChromaIndex, pending: list[DocumentRecord], on_refining: Callable[[int], None] | None,
            batch_chunks: int) -> int:
    """Refine in batches of about `batch_chunks` chunks: mE5 uses every core only on batches of several texts."""
    if on_refining and pending:
        on_refining(sum(r.chunks for r in pending))
    refined, batch, size = 0, [], 0
    for record in pending:
        batch.append(record)
        size += record.chunks
        if size >= batch_chunks:
            refined += index.refine(batch)
            batch, size = [], 0
    return refined + (index.refine(batch) if batch else 0)


def set_title(path: Path, title: str, index: ChromaIndex, settings: Settings) -> DocumentRecord | None:
    """Give the stored document of the file at `path` a title by hand (ingest --title); None if not stored."""
    with write_lock(settings):
        return index.set_title(document_id(str(path.resolve())), title)


def remove_paths(paths: Iterable[Path], index: ChromaIndex, settings: Settings) -> list[tuple[str, bool]]:
    """Remove documents by path; a folder removes every document stored under it."""
    removed = []
    with write_lock(settings):
        records = index.documents()
        for path in paths:
            target = str(path.resolve())
            matches = [r for r in records if r.source == target or r.source.startswith(target.rstrip("/") + "/")]
            if not matches:
                removed.append((target, False))
            for record in matches:
                removed.append((record.source, index.remove_document(record.doc_id)))
    return removed
