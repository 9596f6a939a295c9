"""Collections: one store, many forums. A collection keeps one forum's documents apart from the others' in the same
Chroma store: it is a ChromaIndex opened with `settings.collection` set to its name, so its registry, chunks and
background vectors are Chroma collections of their own and retrieval over it never sees another's. The default
collection is the configured `settings.collection` ("forum"), so a store made before collections is that one.
"""

from __future__ import annotations

import re

from settings import Settings
from store.client import make_chroma_client
from store.errors import StoreError, server_faults
from store.registry import REGISTRY_SUFFIX

MAX_COLLECTION_CHARS = 40
# Lowercase letters, digits and "_", 3 to 40 of them. No "-": it joins a collection's name to the names of its
# parts in Chroma ("forum-documents", "forum-chunks-en"), so no collection can be named like another's part.
_NAME = re.compile(rf"[a-z0-9][a-z0-9_]{{1,{MAX_COLLECTION_CHARS - 2}}}[a-z0-9]")
NAME_RULE = f"3 to {MAX_COLLECTION_CHARS} lowercase letters, digits or '_', starting and ending with a letter or digit"


class InvalidCollectionName(StoreError, ValueError):
    """A collection name that breaks NAME_RULE."""


class UnknownCollection(StoreError):
    """No collection of that name exists in the store."""


def check_collection_name(name: str, default: str | None) -> str:
    """The name, if a collection may have it: NAME_RULE, or the default collection's (settings.collection, which
    predates the rule)."""
    if name == default or (isinstance(name, str) and _NAME.fullmatch(name)):
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
        if prefix != name and (prefix == settings.collection or _NAME.fullmatch(prefix)):
            found.add(prefix)
    return sorted(found, key=lambda n: (n != settings.collection, n))
