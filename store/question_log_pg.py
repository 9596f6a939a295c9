"""The question log in PostgreSQL, for several app processes (settings.question_log_url = postgresql://...): the
same table and statements as the SQLite log, through psycopg 3, imported only when a URL names PostgreSQL."""

from __future__ import annotations

from faults import MissingBackend
from store.question_log import SqlQuestionLog

CONNECT_TIMEOUT_S = 5  # the writer is off the request path, but a report should not hang on a dead server
STATEMENT_TIMEOUT_MS = 30_000  # nor the writer on a locked table: its queue would fill and drop entries


class PostgresQuestionLog(SqlQuestionLog):
    placeholder = "%s"
    no_limit = "ALL"

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url

    def _connect(self):
        try:
            import psycopg
        except ImportError as exc:
            raise MissingBackend("a postgresql:// question log needs: pip install 'psycopg[binary]'") from exc
        return psycopg.connect(self.url, connect_timeout=CONNECT_TIMEOUT_S, application_name="forumqa",
                               options=f"-c statement_timeout={STATEMENT_TIMEOUT_MS}")

    def _database_errors(self) -> tuple[type[Exception], ...]:
        try:
            import psycopg
        except ImportError:  # _connect says what to install (MissingBackend)
            return (OSError,)
        return (psycopg.Error, OSError)

    def __repr__(self) -> str:  # never the URL: it may hold a password
        return "PostgresQuestionLog()"
