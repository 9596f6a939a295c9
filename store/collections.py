"""Collections: one store, many forums. A collection keeps one forum's documents apart from the others' in the same
Chroma store: it is a ChromaIndex opened with `settings.collection` set to its name, so its registry, chunks and
background vectors are Chroma collections of their own and retrieval over it never sees another's. The default
collection is the configured `settings.collection` ("forum"), so a store made before collections is that one.
"""

from __future__ import annotations

from settings import COLLECTION_NAME, MAX_COLLECTION_CHARS, NAME_RULE, Settings, is_collection_name
from store.client import make_chroma_client
from store.errors import StoreError, server_faults
from store.registry import REGISTRY_SUFFIX

__all__ = ["MAX_COLLECTION_CHARS", "NAME_RULE", "InvalidCollectionName", "UnknownCollection", "check_collection_name",
           "collection_settings", "stored_collections"]


class InvalidCollectionName(StoreError, ValueError):
    """A collection name that breaks NAME_RULE."""


class UnknownCollection(StoreError):
    """No collection of that name exists in the store."""


def check_collection_name(name: str, default: str | None) -> str:
    """The name, if a collection may have it: NAME_RULE, or the default collection's (settings.collection, which
    predates the rule)."""
    if is_collection_name(name, default):
        return name
    raise InvalidCollectionName(f"'{str(name)[:60]}' is not a collection name: use {NAME_RULE}")


def collection_settings(settings: Settings, name: str) -> Settings:
    """The settings that open collection `name` (open_index(collection_settings(...))); its staff uploads are kept
    in a folder of its own, under the default collection's, since two collections may hold files of one name."""
    if check_collection_name(name, settings.collection) == settings.collection:
        return settings
    return settings.model_copy(update={"collection": name, "upload_dir": settings.uploads_path / name})


def stored_collections(settings: Settings, client=None) -> list[str]:
    """The collections that exist in the store (each has a registry), the default first, then by name. Creates
    nothing in the store."""
    with server_faults(settings):
        client = client or make_chroma_client(settings)
        names = [c.name if hasattr(c, "name") else c for c in client.list_collections()]
    found = set()
    for name in names:
        prefix = name.removesuffix(REGISTRY_SUFFIX)
        if prefix != name and (prefix == settings.collection or COLLECTION_NAME.fullmatch(prefix)):
            found.add(prefix)
    return sorted(found, key=lambda n: (n != settings.collection, n))
