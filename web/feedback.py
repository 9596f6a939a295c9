"""Like/dislike feedback from the chat, one JSON object per line, appended by any thread."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path


class FeedbackLog:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def record(self, liked: bool, question: str, answer: str, sources: list[dict], **extra: object) -> dict:
        entry = {
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "liked": liked,
            "question": question,
            "answer": answer,
            "sources": sources,
            **extra,
        }
        line = json.dumps(entry, ensure_ascii=False) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as out:
                out.write(line)
        return entry
