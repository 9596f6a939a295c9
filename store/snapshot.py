"""The registry's records saved beside the store, labelled with the commit marker they reflect.

Reading every record out of Chroma takes seconds at 100,000 chunks (20,000 documents), and an app reads them when
it starts and whenever another process committed. The writer that made a commit, or a reader that read the records
after one, saves them here; a process that finds the store's marker on the saved records loads them in a fraction
of that. A marker names one commit, so records saved for another store, another server or an older commit are
never taken; a missing or unreadable file only means reading the records from Chroma."""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path

from settings import Settings
from store.records import DocumentRecord

log = logging.getLogger(__name__)


def saved_registry_path(settings: Settings) -> Path:
    """Where a collection's records are saved, in the store folder (beside the write lock for a server's)."""
    server = f"-{settings.chroma_host}-{settings.chroma_port}" if settings.chroma_host else ""
    return settings.store_dir / f".registry{server}-{settings.collection}.json"


def load_records(path: Path | None, marker: str | None) -> dict[str, DocumentRecord] | None:
    """The records saved for commit `marker`, or None (none saved for it, or the file cannot be read)."""
    if path is None or marker is None or not path.is_file():
        return None
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
        if saved.get("marker") != marker:
            return None
        records = (DocumentRecord.from_metadata(meta) for meta in saved["records"])
        return {record.doc_id: record for record in records}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("ignoring the saved registry %s: %s", path, exc)
        return None


def save_records(path: Path | None, marker: str | None, records: dict[str, DocumentRecord]) -> None:
    """Save `records` as those of commit `marker`, atomically (a reader sees the old file or the new one)."""
    if path is None or marker is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        body = json.dumps({"marker": marker, "records": [r.as_metadata() for r in records.values()]},
                          ensure_ascii=False, separators=(",", ":"))
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, prefix=path.name,
                                         suffix=".tmp", delete=False) as out:
            out.write(body)
        os.chmod(out.name, 0o644)  # as readable as the store's own files
        os.replace(out.name, path)
    except OSError as exc:  # a read-only folder, a full disk: the next process reads the records from Chroma
        log.warning("cannot save the registry to %s: %s", path, exc)
        try:
            os.unlink(out.name)
        except (OSError, UnboundLocalError):
            pass
