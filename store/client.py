"""The Chroma client: embedded PersistentClient on the store folder, or HttpClient when a host is set.

An embedded store has one client per folder in a process, shared by every collection opened on it, with one lock
that serialises their Chroma calls. When another process wrote, the store is opened afresh once for all of them:
the old client's system is stopped (its files and in-memory vector indexes released), not left behind."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import chromadb
from chromadb.api.client import SharedSystemClient
from chromadb.config import Settings as ChromaSettings

from settings import Settings
from store.errors import StoreUnavailable

PAGE = 2000  # rows per Chroma get(): keeps SQLite variable limits and memory in check


@dataclass
class EmbeddedStore:
    """The client of one store folder, the lock its users share, and how many times it was opened afresh."""

    path: str
    client: chromadb.ClientAPI
    lock: threading.RLock = field(default_factory=threading.RLock)
    generation: int = 0
    written: dict[str, str] = field(default_factory=dict)  # collection -> the last commit marker written here


_EMBEDDED: dict[str, EmbeddedStore] = {}
_EMBEDDED_LOCK = threading.Lock()


def _chroma_settings() -> ChromaSettings:
    return ChromaSettings(anonymized_telemetry=False)


def make_chroma_client(settings: Settings) -> chromadb.ClientAPI:
    if settings.chroma_host:
        try:
            return chromadb.HttpClient(
                host=settings.chroma_host, port=settings.chroma_port, settings=_chroma_settings()
            )
        except Exception as exc:  # chromadb raises plain ValueError/ConnectionError variants here
            raise StoreUnavailable(
                f"cannot reach Chroma at {settings.chroma_host}:{settings.chroma_port}: {exc}"
            ) from exc
    return embedded_store(settings).client


def embedded_store(settings: Settings) -> EmbeddedStore:
    """The shared client of the embedded store in settings.store_dir, created (with the folder) on first use."""
    settings.store_dir.mkdir(parents=True, exist_ok=True)
    path = str(settings.store_dir.resolve())
    with _EMBEDDED_LOCK:
        store = _EMBEDDED.get(path)
        if store is None:
            store = _EMBEDDED[path] = EmbeddedStore(path, chromadb.PersistentClient(path=path,
                                                                                    settings=_chroma_settings()))
        return store


def reopen_embedded(store: EmbeddedStore, seen_generation: int) -> None:
    """Open the store afresh (another process wrote), unless a user of `store` already did since it saw
    `seen_generation`. The old system is stopped: its collections must not be used again (callers re-attach
    when `store.generation` moves)."""
    with store.lock:
        if store.generation != seen_generation:
            return
        with _EMBEDDED_LOCK:
            SharedSystemClient._identifier_to_refcount.pop(store.path, None)
            system = SharedSystemClient._identifier_to_system.pop(store.path, None)
            if system is not None:
                system.stop()
            store.client = chromadb.PersistentClient(path=store.path, settings=_chroma_settings())
            store.generation += 1


def open_systems() -> int:
    """Chroma systems (clients' engines, each with its files and memory) alive in this process: for tests."""
    return len(SharedSystemClient._identifier_to_system)
