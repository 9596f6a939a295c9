"""Faults of the servers the app depends on (a Chroma server, an LLM server), named once for store/ and bot/ to
raise and for the edges to report: a 503 from the API, a message in the chat, an `error` line from the CLI.

Only these mean "a backend is down, try again"; any other exception stays a bug with its stack trace."""


class BackendUnavailable(Exception):
    """A backend did not answer. `backend` names it for visitors ("document store", "language model"); the
    message, for logs and the CLI, says where and why in one line."""

    backend = "backend"

    @property
    def public_reason(self) -> str:
        return f"the {self.backend} is unavailable; please try again in a moment"
