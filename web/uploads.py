"""Staff uploads: files staged, parsed without the store's lock (within the parse budget), then moved under their
stored names into the uploads folder and committed as one batch under the lock.

A file that fails to ingest leaves nothing behind, and never replaces a version that is already stored: a file
is moved into place only once it parsed, and the previous file is put back if the write fails. Different names
that make the same safe name get distinct stored names; staging left by a killed app is removed at start."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from ingest.pipeline import FileOutcome, PreparedDocument, finish_writing, prepare_or_fail, write_prepared
from settings import Settings
from store import ChromaIndex, DocumentRecord, StoreLocked, document_id, write_lock

log = logging.getLogger(__name__)

_COPY_BLOCK = 1 << 20
STAGING = ".staging"  # under the uploads folder: one folder per upload in progress, named <pid>-<random>


class UploadTooLarge(Exception):
    pass


@dataclass
class UploadOutcome:
    filename: str  # as the client named it
    stored_as: str
    status: str  # added | updated | unchanged | failed
    reason: str = ""
    doc_id: str = ""
    chunks: int = 0
    language: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def safe_file_name(name: str) -> str:
    """A plain file name (no folders, no leading dots, only word characters, dots and dashes)."""
    base = unicodedata.normalize("NFC", PurePosixPath((name or "").replace("\\", "/")).name)
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    stem = re.sub(r"[^\w.\-]+", "_", stem).strip("._-")[:100] or "upload"
    ext = re.sub(r"[^A-Za-z0-9]", "", ext)[:10].lower()
    return f"{stem}.{ext}" if ext else stem


def upload_key(name: str) -> str:
    """A short hash of the name a file was uploaded under (its folders dropped)."""
    original = unicodedata.normalize("NFC", PurePosixPath((name or "").replace("\\", "/")).name)
    return hashlib.sha256(original.encode("utf-8", "surrogatepass")).hexdigest()[:8]


def stored_name(name: str) -> str:
    """The safe name, with a short hash of the original name when making it safe changed it: two different
    names never share a stored file, and the same name uploaded again updates its document."""
    safe = safe_file_name(name)
    original = unicodedata.normalize("NFC", PurePosixPath((name or "").replace("\\", "/")).name)
    if safe == original:
        return safe
    stem, dot, ext = safe.rpartition(".")
    return f"{stem}-{upload_key(name)}.{ext}" if dot else f"{safe}-{upload_key(name)}"


def _stored_name_here(name: str, folder: Path, by_source: dict[str, DocumentRecord]) -> str:
    """stored_name, but a document stored before names got their hash (under the bare safe name, indexed with
    no upload key, or since updated under this name) is updated rather than duplicated. Which of the names that
    make that safe name it first came from is not known: as then, they share it."""
    hashed, safe = stored_name(name), safe_file_name(name)
    if hashed == safe or (folder / hashed).exists():
        return hashed
    earlier = by_source.get(str((folder / safe).resolve()))
    if earlier is not None and earlier.upload_key in ("", upload_key(name)) and (folder / safe).is_file():
        return safe
    return hashed


def _unique_names(names: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for name in names:
        candidate, n = name, 1
        while candidate in seen:
            n += 1
            stem, dot, ext = name.rpartition(".")
            candidate = f"{stem}-{n}.{ext}" if dot else f"{name}-{n}"
        seen.add(candidate)
        out.append(candidate)
    return out


def is_uploaded(source: str, settings: Settings) -> bool:
    return Path(source).resolve().is_relative_to(settings.uploads_path.resolve())


class _Staging:
    """A private folder for one upload's new files, and the stored files they replace until the write is done."""

    def __init__(self, folder: Path, limit_bytes: int) -> None:
        self.folder = folder
        self.work = folder / STAGING / f"{os.getpid()}-{uuid.uuid4().hex}"
        self.limit_bytes = limit_bytes
        self.written = 0
        self.placed: dict[Path, Path | None] = {}  # stored file -> the previous version set aside (None: none)

    def save(self, name: str, data: BinaryIO) -> Path:
        staged = self.work / "new" / name
        staged.parent.mkdir(parents=True, exist_ok=True)
        with staged.open("wb") as out:
            while block := data.read(_COPY_BLOCK):
                self.written += len(block)
                if self.written > self.limit_bytes:
                    raise UploadTooLarge(f"the upload is larger than {self.limit_bytes / 1048576:g} MB")
                out.write(block)
        return staged

    def place(self, staged: Path, target: Path) -> None:
        """Move a parsed file to its stored name (the caller holds the write lock)."""
        backup = None
        if target.exists():
            backup = self.work / "old" / target.name
            backup.parent.mkdir(parents=True, exist_ok=True)
            target.replace(backup)
        self.placed[target] = backup
        staged.replace(target)

    def undo(self) -> None:
        for target, backup in self.placed.items():
            if backup is not None:
                backup.replace(target)
            else:
                target.unlink(missing_ok=True)
        self.placed = {}

    def finish(self) -> None:
        shutil.rmtree(self.work, ignore_errors=True)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_staged_uploads(settings: Settings) -> int:
    """Remove staging folders whose app is gone (killed mid-upload), the default collection's and each other
    collection's (collection_settings: <uploads>/<name>); returns how many."""
    removed = 0
    uploads = settings.uploads_path
    collections = [folder for folder in uploads.iterdir() if folder.is_dir()] if uploads.is_dir() else []
    for root in (uploads / STAGING, *(folder / STAGING for folder in collections)):
        for work in root.iterdir() if root.is_dir() else ():
            pid = work.name.partition("-")[0]
            if not pid.isdigit() or int(pid) == os.getpid() or not _process_alive(int(pid)):
                shutil.rmtree(work, ignore_errors=True)
                removed += 1
    if removed:
        log.info("removed %s staged uploads left by a stopped app", removed)
    return removed


def store_uploads(files: list[tuple[str, BinaryIO]], index: ChromaIndex | None, settings: Settings,
                  create: Callable[[], ChromaIndex] | None = None) -> list[UploadOutcome]:
    """Save, parse and commit; raises StoreLocked when another writer keeps the store longer than
    write_lock_wait_s, UploadTooLarge over max_upload_mb. `index` None: a collection that does not exist yet,
    made by `create` once a file is ready to store, so an upload that fails creates no empty collection."""
    records = index.documents() if index is not None else []
    by_source = {r.source: r for r in records}
    names = _unique_names([_stored_name_here(name, settings.uploads_path, by_source) for name, _ in files])
    targets = [settings.uploads_path / name for name in names]
    staging = _Staging(settings.uploads_path, settings.max_upload_bytes)
    try:
        staged = [staging.save(name, data) for name, (_, data) in zip(names, files)]
        known = {r.doc_id: r for r in records}
        results = [prepare_or_fail(t, settings, known, content, upload_key(original))
                   for t, content, (original, _) in zip(targets, staged, files)]
        ready = [(r, content, t) for r, content, t in zip(results, staged, targets) if isinstance(r, PreparedDocument)]
        committed: dict[str, FileOutcome] = {}
        if ready:
            index = index if index is not None else create()
            with write_lock(settings):
                try:
                    for _, content, target in ready:
                        staging.place(content, target)
                    committed = {o.path: o for o in write_prepared(index, [r for r, _, _ in ready])}
                except BaseException:
                    staging.undo()
                    raise
            _refine_soon(index, settings)
    finally:
        staging.finish()
    outcomes = []
    for (original, _), name, result in zip(files, names, results):
        outcome = committed[result.record.source] if isinstance(result, PreparedDocument) else result
        if outcome.status == "failed":
            outcomes.append(UploadOutcome(original, name, "failed", outcome.reason))
        else:
            outcomes.append(UploadOutcome(original, name, outcome.status, doc_id=document_id(outcome.path),
                                          chunks=outcome.chunks, language=outcome.language))
    return outcomes


def _refine_soon(index: ChromaIndex, settings: Settings) -> None:
    """Final vectors now; a writer holding the store meanwhile refines them when it finishes (it refines every
    provisional document), so the upload, already committed and searchable, does not fail for it."""
    try:
        finish_writing(index, settings, patient=False)
    except StoreLocked:
        log.info("another writer holds the store: the uploaded documents are refined when it finishes")
