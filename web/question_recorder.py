"""Records each answered question in the question log (store.question_log), off the request path: `record` and
`vote` only put the entry on a bounded queue, and one writer thread writes it. A log that fails, is slow or is
full costs a warning in the app's log, never an answer."""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from datetime import UTC, datetime

from bot import Answer
from settings import Settings
from store.question_log import LoggedQuestion, SqlQuestionLog, open_question_log

log = logging.getLogger(__name__)

MAX_PENDING = 10_000  # entries waiting for the writer; past it new ones are dropped (a dead database fills nothing)
BATCH = 200
PRUNE_EVERY_S = 3600.0  # the retention and the row cap are applied at start, then once an hour
PRUNE_EVERY_ROWS = 1000  # or after this many new rows, whichever comes first
RETRY_AFTER_S = 1.0
CLOSE_WAIT_S = 10.0  # on shutdown, for the writer to write what is queued


class QuestionRecorder:
    """Off (settings.question_log false) it records nothing and `record` returns None."""

    def __init__(self, settings: Settings, question_log: SqlQuestionLog | None = None) -> None:
        self.enabled = settings.question_log
        self.collection = settings.collection
        self.keep_days, self.max_rows = settings.question_log_days, settings.question_log_max_rows
        self.log = question_log if question_log is not None else (
            open_question_log(settings) if self.enabled else None)
        self._pending: queue.Queue[tuple | None] = queue.Queue(MAX_PENDING)
        self._dropped = 0
        self._pruned_at: float | None = None  # when the last prune succeeded; None: not since start
        self._added_since_prune = 0
        self._writer: threading.Thread | None = None
        self._start_lock = threading.Lock()
        if self.enabled:
            self._ensure_writer()  # its first job: the retention and the row cap, at start

    def record(self, answer: Answer, channel: str, collection: str | None = None) -> str | None:
        """Queues the answered question; its entry id (for a later vote), or None when the log is off."""
        if not self.enabled:
            return None
        try:
            entry = LoggedQuestion(
                id=uuid.uuid4().hex, at=datetime.now(UTC), language=answer.language,
                collection=collection or self.collection, channel=channel, question=answer.question,
                answered=answer.answered, cited=[{"doc_id": s.doc_id, "title": s.title} for s in answer.sources],
                answer=answer.answer,
            )
        except Exception:  # an answer that does not fit the log is the log's problem, not the visitor's
            log.exception("question log: the answer could not be recorded")
            return None
        self._put(("add", entry))
        return entry.id

    def vote(self, entry_id: str | None, liked: bool) -> None:
        if self.enabled and entry_id:
            self._put(("vote", entry_id, liked))

    def _put(self, item: tuple) -> None:
        self._ensure_writer()
        try:
            self._pending.put_nowait(item)
        except queue.Full:
            self._dropped += 1
            if self._dropped in (1, 10, 100) or self._dropped % 1000 == 0:
                log.warning("question log: %s entries dropped, the writer is behind (is the database up?)",
                            self._dropped)

    def _ensure_writer(self) -> None:
        if self._writer is None:
            with self._start_lock:
                if self._writer is None:
                    self._writer = threading.Thread(target=self._write_forever, name="forumqa-question-log",
                                                    daemon=True)
                    self._writer.start()

    def _write_forever(self) -> None:
        self._prune_when_due()
        while True:
            items = [self._pending.get()]
            while len(items) < BATCH:
                try:
                    items.append(self._pending.get_nowait())
                except queue.Empty:
                    break
            stop = None in items
            written = [item for item in items if item is not None]
            if written:  # the stop alone writes nothing and prunes nothing: close() is about to close the log
                self._write(written)
                self._prune_when_due()
            for _ in items:
                self._pending.task_done()
            if stop:
                return

    def _write(self, items: list[tuple]) -> None:
        entries = [item[1] for item in items if item[0] == "add"]
        votes = [item[1:] for item in items if item[0] == "vote"]
        for attempt in (1, 2):  # once more: two processes creating the table at once, a connection gone stale
            try:
                if entries:
                    self.log.add(entries)
                    self._added_since_prune += len(entries)
                    entries = []
                for entry_id, liked in votes:
                    self.log.vote(entry_id, liked)
                votes = []
                return
            except Exception as exc:  # the writer thread must live on: any failure is a warning, never a crash
                if attempt == 2:
                    log.warning("question log: %s entries and %s votes not written: %s: %s",
                                len(entries), len(votes), type(exc).__name__, " ".join(str(exc).split()))
                else:
                    time.sleep(RETRY_AFTER_S)

    def _prune_when_due(self) -> None:
        """The retention and the row cap: at start, then every PRUNE_EVERY_S or PRUNE_EVERY_ROWS new rows. A prune
        that fails is a warning and is tried again after the next batch."""
        if (self._pruned_at is not None and time.monotonic() - self._pruned_at < PRUNE_EVERY_S
                and self._added_since_prune < PRUNE_EVERY_ROWS):
            return
        try:
            self.log.prune(self.keep_days, self.max_rows)
        except Exception as exc:
            log.warning("question log: old questions not deleted: %s: %s", type(exc).__name__,
                        " ".join(str(exc).split()))
            return
        self._pruned_at, self._added_since_prune = time.monotonic(), 0

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Waits until every queued entry is written (tests, shutdown); False when the writer is still behind."""
        if self._writer is None:
            return True
        deadline = time.monotonic() + timeout_s
        while self._pending.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.02)
        return not self._pending.unfinished_tasks

    def close(self, timeout_s: float = CLOSE_WAIT_S) -> None:
        """Writes what is queued (within `timeout_s`), stops the writer, then closes the log."""
        if self._writer is not None:
            deadline = time.monotonic() + timeout_s
            try:
                self._pending.put(None, timeout=timeout_s)
            except queue.Full:
                pass
            self._writer.join(max(0.0, deadline - time.monotonic()))
            if self._writer.is_alive():
                log.warning("question log: the writer did not finish within %.0f s; %s entries not written",
                            timeout_s, self._pending.qsize())
        if self.log is not None:
            self.log.close()
