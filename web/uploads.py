"""Staff uploads: files saved under safe names in the uploads folder, then ingested as one batch.

A file that fails to ingest leaves nothing behind, and never replaces a version that is already stored: the
previous file is set aside first and put back if the new one fails."""

from __future__ import annotations

import re
import shutil
import threading
import unicodedata
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from ingest.pipeline import ingest_paths
from settings import Settings
from store import ChromaIndex, StoreLocked, document_id

_COPY_BLOCK = 1 << 20
_upload_lock = threading.Lock()  # the store's file lock is not re-entrant, so uploads queue here first


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
    """Writes the new files; remembers the files they replace so a failure can put them back."""

    def __init__(self, folder: Path, limit_bytes: int) -> None:
        self.folder = folder
        self.aside = folder / ".replaced" / uuid.uuid4().hex
        self.limit_bytes = limit_bytes
        self.written = 0
        self.backups: dict[Path, Path] = {}
        self.paths: list[Path] = []

    def save(self, name: str, data: BinaryIO) -> Path:
        target = self.folder / name
        self.folder.mkdir(parents=True, exist_ok=True)
        if target.exists():
            self.aside.mkdir(parents=True, exist_ok=True)
            backup = self.aside / name
            target.replace(backup)
            self.backups[target] = backup
        self.paths.append(target)
        with target.open("wb") as out:
            while block := data.read(_COPY_BLOCK):
                self.written += len(block)
                if self.written > self.limit_bytes:
                    raise UploadTooLarge(f"the upload is larger than {self.limit_bytes / 1048576:g} MB")
                out.write(block)
        return target

    def undo(self, target: Path) -> None:
        backup = self.backups.pop(target, None)
        if backup is not None:
            backup.replace(target)
        else:
            target.unlink(missing_ok=True)

    def undo_all(self) -> None:
        for target in self.paths:
            self.undo(target)
        self.finish()

    def finish(self) -> None:
        shutil.rmtree(self.aside, ignore_errors=True)


def store_uploads(files: list[tuple[str, BinaryIO]], index: ChromaIndex, settings: Settings) -> list[UploadOutcome]:
    """Save and ingest; raises StoreLocked while another ingest runs, UploadTooLarge over max_upload_mb."""
    if not _upload_lock.acquire(blocking=False):
        raise StoreLocked("another upload is being ingested; retry when it has finished")
    try:
        names = _unique_names([safe_file_name(name) for name, _ in files])
        staging = _Staging(settings.uploads_path, int(settings.max_upload_mb * 1024 * 1024))
        try:
            paths = [staging.save(name, data) for name, (_, data) in zip(names, files)]
            report = ingest_paths(paths, index, settings)
        except BaseException:
            staging.undo_all()
            raise
        outcomes = []
        for (original, _), name, path, outcome in zip(files, names, paths, report.outcomes):
            if outcome.status == "failed":
                staging.undo(path)
                outcomes.append(UploadOutcome(original, name, "failed", outcome.reason))
            else:
                outcomes.append(UploadOutcome(
                    original, name, outcome.status, doc_id=document_id(outcome.path),
                    chunks=outcome.chunks, language=outcome.language,
                ))
        staging.finish()
        return outcomes
    finally:
        _upload_lock.release()
