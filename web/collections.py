"""The collections the app answers from (store/collections.py): each opened on first use, with its own index and
QA chain (so its own lexical index: retrieval never crosses collections), sharing the app's embedder and answerer.

Only a collection that exists in the store opens: a request naming any other gets UnknownCollection (a 404) and
creates nothing, so unauthenticated requests cannot make the app open or create unbounded indexes. Staff uploads
may create one (`create=True`), behind the admin key."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from bot import ForumQA
from settings import Settings
from store import ChromaIndex, open_index
from store.collections import UnknownCollection, check_collection_name, collection_settings

log = logging.getLogger(__name__)

_NAMES_TTL_S = 2.0  # a collection made by an ingest beside the app is answered from within this


@dataclass
class Forum:
    """One collection as the app answers from it."""

    name: str
    settings: Settings  # collection_settings(app settings, name): its uploads folder, for one
    index: ChromaIndex
    qa: ForumQA


class ForumCollections:
    def __init__(self, settings: Settings, default: Forum) -> None:
        self.settings = settings
        self.default = default
        self._open: dict[str, Forum] = {default.name: default}
        self._names: tuple[float, list[str]] = (-_NAMES_TTL_S, [])
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        """The collections in the store (read again at most every couple of seconds), the default first."""
        at, names = self._names
        if time.monotonic() - at >= _NAMES_TTL_S:
            names = self.default.index.collection_names()
            if self.default.name not in names:
                names = [self.default.name, *names]
            self._names = (time.monotonic(), names)
        return names

    def get(self, name: str | None, create: bool = False) -> Forum:
        """The collection `name` (None: the default). InvalidCollectionName for a name no collection may have,
        UnknownCollection for one the store does not hold (unless `create`)."""
        if name is None or name == self.default.name:
            return self.default
        forum = self._open.get(name)
        if forum is not None:
            return forum
        check_collection_name(name, self.default.name)
        if not create and name not in self.names():
            raise UnknownCollection(f"no collection named '{name}'")
        with self._lock:
            forum = self._open.get(name)
            if forum is None:
                settings = collection_settings(self.settings, name)
                index = open_index(settings, self.default.index.embedder)
                qa = ForumQA(settings, index, self.default.qa.answerer, self.default.qa.condenser)
                forum = Forum(name, settings, index, qa)
                self._open[name] = forum
                self._names = (-_NAMES_TTL_S, [])  # a created one is listed at once
                log.info("opened collection %s", name)
        return forum

    def link_name(self, name: str | None) -> str | None:
        """The collection as the links to its documents name it (?collection=NAME): None for the default one, so
        the default collection's links are those of a store without collections."""
        return None if name in (None, self.default.name) else name
