"""Faults of the backends the app depends on (a Chroma server, an LLM server, an embedder's package), named once
for store/ and bot/ to raise and for the edges to report: a 503 from the API, a message in the chat, an `error`
line and exit status 2 from the CLIs and app.py.

Only these mean "a backend is down, try again" or "install this"; any other exception stays a bug with its stack
trace."""


class BackendUnavailable(Exception):
    """A backend did not answer. `backend` names it for visitors ("document store", "language model"); the
    message, for logs and the CLI, says where and why in one line."""

    backend = "backend"

    @property
    def public_reason(self) -> str:
        return f"the {self.backend} is unavailable; please try again in a moment"


class MissingBackend(Exception):
    """The chosen backend's package is not installed; the message says what to install. Found at start-up
    (opening the index, building the answerer), so it stops a CLI or app.py with one line, never a question."""
