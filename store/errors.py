"""Named store errors, turned into one clear line by the CLI and a 4xx/5xx message by the API."""

from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from faults import BackendUnavailable
from settings import Settings


class StoreError(Exception):
    pass


class EmbedderMismatch(StoreError):
    """The index was built with another embedder; its vectors must never be mixed with this one's."""


class StoreLocked(StoreError):
    """Another ingest holds the store's write lock."""


class QuestionLogUnavailable(StoreError):
    """The question log's database cannot be opened, read or written (a sqlite3 or psycopg error, in one line)."""


class StoreUnavailable(StoreError, BackendUnavailable):
    """The Chroma server cannot be reached."""

    backend = "document store"


@contextmanager
def server_faults(settings: Settings) -> Iterator[None]:
    """A Chroma server that does not answer is StoreUnavailable (a 503, an `error` line), not a bug."""
    try:
        yield
    except httpx.TransportError as exc:
        raise StoreUnavailable(
            f"the Chroma server at {settings.chroma_host}:{settings.chroma_port} does not answer "
            f"({type(exc).__name__}: {exc})"
        ) from exc
