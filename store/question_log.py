"""The question log behind the editors' insights (opt-in, settings.question_log): one row per answered question,
with the visitor's later vote on it. A SQLite file beside the store for one process, or a PostgreSQL database
(store.question_log_pg) that several app processes share; both speak the SQL below, written once."""

from __future__ import annotations

import json
import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from settings import Settings
from store.errors import QuestionLogUnavailable

# What one row may hold: a question is capped by settings.max_question_chars already; these keep a row small, so
# question_log_max_rows bounds the log's size: about 2 KB a row at most in English or Spanish, 6 KB in Chinese (3
# bytes a character in UTF-8; four cited titles).
MAX_QUESTION_CHARS = 1000
MAX_ANSWER_CHARS = 300
MAX_TITLE_CHARS = 120

SCHEMA = [
    "CREATE TABLE IF NOT EXISTS questions (id TEXT PRIMARY KEY, at TEXT NOT NULL, language TEXT NOT NULL, "
    "collection TEXT NOT NULL, channel TEXT NOT NULL, question TEXT NOT NULL, answered INTEGER NOT NULL, "
    "cited TEXT NOT NULL, answer TEXT NOT NULL, vote INTEGER)",
    "CREATE INDEX IF NOT EXISTS questions_at ON questions (at)",
]
_COLUMNS = "id, at, language, collection, channel, question, answered, cited, answer, vote"


def _timestamp(moment: datetime) -> str:
    """UTC, to the microsecond (entries keep their order), in a form that sorts as text in both databases."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


@dataclass
class LoggedQuestion:
    id: str
    at: datetime  # UTC
    language: str
    collection: str
    channel: str  # api (/api/ask), stream (/api/chat: the widget), chat (the Gradio chat)
    question: str
    answered: bool
    cited: list[dict] = field(default_factory=list)  # {"doc_id", "title"}, in the answer's order
    answer: str = ""  # its start, for the down-voted list
    vote: int | None = None  # 1 liked, -1 disliked

    def __post_init__(self) -> None:  # cut to a row's size at once: a queued entry holds no whole answer
        self.question = self.question[:MAX_QUESTION_CHARS]
        self.answer = self.answer[:MAX_ANSWER_CHARS]
        self.cited = [{"doc_id": c.get("doc_id", ""), "title": (c.get("title") or "")[:MAX_TITLE_CHARS]}
                      for c in self.cited]

    def row(self) -> tuple:
        return (self.id, _timestamp(self.at), self.language, self.collection, self.channel, self.question,
                int(self.answered), json.dumps(self.cited, ensure_ascii=False), self.answer, self.vote)

    @classmethod
    def from_row(cls, row: Sequence) -> LoggedQuestion:
        at = datetime.strptime(row[1], "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=UTC)
        return cls(row[0], at, row[2], row[3], row[4], row[5], bool(row[6]), json.loads(row[7]), row[8], row[9])


class SqlQuestionLog(ABC):
    """The log's statements, for any DB-API connection; subclasses open the connection, name its placeholder and
    the errors of their driver, which every call raises as QuestionLogUnavailable."""

    placeholder = "?"
    no_limit = "-1"  # how LIMIT says "all rows" (SQLite needs a LIMIT before an OFFSET)

    def __init__(self) -> None:
        self._lock = threading.Lock()  # one connection, used by one thread at a time
        self._connection = None

    @abstractmethod
    def _connect(self):
        """A new DB-API connection to the log's database."""

    def _database_errors(self) -> tuple[type[Exception], ...]:
        """What the driver raises when the database cannot be opened, read or written."""
        return (sqlite3.Error, OSError)

    def _run(self, sql: str, rows: Iterable[Sequence] = ((),), fetch: bool = False) -> list:
        try:
            return self._run_unwrapped(sql, rows, fetch)
        except self._database_errors() as exc:  # one line: a database's message may span several
            raise QuestionLogUnavailable(f"{type(exc).__name__}: {' '.join(str(exc).split())}") from exc

    def _run_unwrapped(self, sql: str, rows: Iterable[Sequence], fetch: bool) -> list:
        sql = sql.replace("?", self.placeholder)
        with self._lock:
            if self._connection is None:
                connection = self._connect()
                try:
                    self._execute(connection, SCHEMA, [()])
                except Exception:
                    connection.close()
                    raise
                self._connection = connection
            try:
                return self._execute(self._connection, [sql], rows, fetch)
            except Exception:
                self._drop_connection()  # reopened by the next call: a database server may come back
                raise

    @staticmethod
    def _execute(connection, statements: list[str], rows: Iterable[Sequence], fetch: bool = False) -> list:
        cursor = connection.cursor()
        try:
            out = []
            for statement in statements:
                for row in rows:
                    cursor.execute(statement, row)
                    if fetch:
                        out += cursor.fetchall()
            connection.commit()
            return out
        except Exception:
            connection.rollback()
            raise
        finally:
            cursor.close()

    def _drop_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close()
            except Exception:
                pass

    def add(self, entries: Sequence[LoggedQuestion]) -> None:
        self._run(f"INSERT INTO questions ({_COLUMNS}) VALUES ({', '.join('?' * 10)})", [e.row() for e in entries])

    def vote(self, entry_id: str, liked: bool) -> None:
        """The visitor's vote on an answer, tied to its question; the last vote counts."""
        self._run("UPDATE questions SET vote = ? WHERE id = ?", [(1 if liked else -1, entry_id)])

    def entries(self, since: datetime | None = None) -> list[LoggedQuestion]:
        """The logged questions asked since `since` (all when None), oldest first."""
        start = _timestamp(since) if since else ""
        rows = self._run(f"SELECT {_COLUMNS} FROM questions WHERE at >= ? ORDER BY at, id", [(start,)], fetch=True)
        return [LoggedQuestion.from_row(row) for row in rows]

    def prune(self, keep_days: int, max_rows: int, now: datetime | None = None) -> None:
        """Deletes the questions older than `keep_days`, then the oldest beyond `max_rows`."""
        cutoff = _timestamp((now or datetime.now(UTC)) - timedelta(days=keep_days))
        self._run("DELETE FROM questions WHERE at < ?", [(cutoff,)])
        self._run("DELETE FROM questions WHERE id IN (SELECT id FROM questions ORDER BY at DESC, id DESC "
                  f"LIMIT {self.no_limit} OFFSET ?)", [(max_rows,)])

    def close(self) -> None:
        with self._lock:
            self._drop_connection()


class SqliteQuestionLog(SqlQuestionLog):
    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path

    def entries(self, since: datetime | None = None) -> list[LoggedQuestion]:
        if not self.path.exists():  # nothing logged yet: a report creates no file
            return []
        return super().entries(since)

    def _connect(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # check_same_thread off: the app's writer thread writes, request threads read, one at a time (the lock).
        connection = sqlite3.connect(self.path, timeout=5, check_same_thread=False)
        connection.execute("PRAGMA journal_mode=WAL")
        return connection


def open_question_log(settings: Settings) -> SqlQuestionLog:
    """The log settings.question_log_url names: PostgreSQL for a postgresql:// URL, else SQLite beside the store.
    Nothing is opened until the first call."""
    if settings.question_log_url:
        from store.question_log_pg import PostgresQuestionLog

        return PostgresQuestionLog(settings.question_log_url.get_secret_value())
    return SqliteQuestionLog(settings.question_log_path)
