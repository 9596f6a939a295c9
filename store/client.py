"""The Chroma client: embedded PersistentClient on the store folder, or HttpClient when a host is set."""

from __future__ import annotations

import chromadb
from chromadb.config import Settings as ChromaSettings

from settings import Settings
from store.errors import StoreUnavailable

PAGE = 2000  # rows per Chroma get(): keeps SQLite variable limits and memory in check


def make_chroma_client(settings: Settings) -> chromadb.ClientAPI:
    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_host:
        try:
            return chromadb.HttpClient(
                host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings
            )
        except Exception as exc:  # chromadb raises plain ValueError/ConnectionError variants here
            raise StoreUnavailable(
                f"cannot reach Chroma at {settings.chroma_host}:{settings.chroma_port}: {exc}"
            ) from exc
    settings.store_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.store_dir), settings=chroma_settings)
