"""Like/dislike feedback from the chat, one JSON object per line, appended by any thread, up to a size."""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger(__name__)


class FeedbackLog:
    def __init__(self, path: Path, max_bytes: int) -> None:
        self.path = path
        self.max_bytes = max_bytes  # past it, votes are dropped: the file must not fill the disk
        self._lock = threading.Lock()

    def record(self, liked: bool, question: str, answer: str, sources: list[dict], **extra: object) -> dict | None:
        """The entry written, or None when the file is full."""
        entry = {
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "liked": liked,
            "question": question,
            "answer": answer,
            "sources": sources,
            **extra,
        }
        line = json.dumps(entry, ensure_ascii=False) + "\n"
        size = len(line.encode("utf-8"))
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if (self.path.stat().st_size if self.path.exists() else 0) + size > self.max_bytes:
                log.warning("feedback dropped: %s has reached its limit of %s bytes", self.path, self.max_bytes)
                return None
            with self.path.open("a", encoding="utf-8") as out:
                out.write(line)
        return entry
