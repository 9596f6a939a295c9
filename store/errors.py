"""Named store errors, turned into one clear line by the CLI and a 4xx/5xx message by the API."""

from faults import BackendUnavailable


class StoreError(Exception):
    pass


class EmbedderMismatch(StoreError):
    """The index was built with another embedder; its vectors must never be mixed with this one's."""


class StoreLocked(StoreError):
    """Another ingest holds the store's write lock."""


class StoreUnavailable(StoreError, BackendUnavailable):
    """The Chroma server cannot be reached."""

    backend = "document store"
