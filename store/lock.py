"""One writer at a time: an ingest holds an exclusive file lock beside the store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from settings import Settings
from store.errors import StoreLocked


def lock_path(settings: Settings) -> Path:
    folder = settings.store_dir
    folder.mkdir(parents=True, exist_ok=True)
    name = f".ingest-{settings.chroma_host}-{settings.chroma_port}.lock" if settings.chroma_host else ".ingest.lock"
    return folder / name


@contextmanager
def write_lock(settings: Settings, patient: bool = False) -> Iterator[None]:
    """Held while writing, never while parsing; waits up to settings.write_lock_wait_s for another writer, or
    when `patient` (an ingest that has begun writing, so it does not stop halfway) as long as it takes."""
    lock = FileLock(str(lock_path(settings)), timeout=-1 if patient else settings.write_lock_wait_s)
    try:
        lock.acquire()
    except Timeout as exc:
        raise StoreLocked(
            f"another ingest is writing to {settings.store_dir}; wait for it to finish and retry"
        ) from exc
    try:
        yield
    finally:
        lock.release()
