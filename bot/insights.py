"""The editors' report over the question log: questions per day and language, the answered rate, the unanswered
questions grouped by topic across languages (bot.topics), the most cited documents and the down-voted answers.
The same report feeds `python -m bot report` and /admin/insights."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta

from bot.topics import Topic, group_questions
from store import NamedEmbeddings
from store.question_log import LoggedQuestion

MOST_CITED = 10
MAX_DOWN_VOTED = 50
_SPAN = re.compile(r"^\s*(\d+)\s*([hdw])\s*$", re.IGNORECASE)
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}


class InvalidSince(ValueError):
    """A --since that is neither a span (30d, 12h, 4w), a date (2026-11-01) nor "all"."""


def parse_since(text: str, now: datetime | None = None) -> datetime | None:
    """The start of the report: 30d, 12h, 4w back from now, a UTC date, or None for "all"."""
    now = now or datetime.now(UTC)
    if text.strip().lower() == "all":
        return None
    span = _SPAN.match(text)
    if span:
        return now - timedelta(**{_UNITS[span[2].lower()]: int(span[1])})
    try:
        return datetime.combine(date.fromisoformat(text.strip()), datetime.min.time(), UTC)
    except ValueError:
        raise InvalidSince(f"--since {text!r}: give a span (30d, 12h, 4w), a date (2026-11-01) or 'all'") from None


@dataclass
class DayFigures:
    day: str  # YYYY-MM-DD, UTC
    questions: int = 0
    answered: int = 0
    languages: dict[str, int] = field(default_factory=dict)

    @property
    def answered_rate(self) -> float | None:
        return self.answered / self.questions if self.questions else None


@dataclass
class InsightReport:
    since: datetime | None
    until: datetime
    collection: str | None  # None: every collection
    questions: int
    answered: int
    languages: dict[str, int]
    days: list[DayFigures]
    unanswered_topics: list[Topic]
    most_cited: list[dict]  # {"doc_id", "title", "citations"}
    down_voted: list[dict]  # {"at", "language", "question", "answer", "cited"}

    @property
    def answered_rate(self) -> float | None:
        return self.answered / self.questions if self.questions else None

    def to_dict(self) -> dict:
        return {
            "since": self.since.isoformat() if self.since else None, "until": self.until.isoformat(),
            "collection": self.collection,
            "questions": self.questions, "answered": self.answered, "answered_rate": _rounded(self.answered_rate),
            "languages": self.languages,
            "days": [{**asdict(d), "answered_rate": _rounded(d.answered_rate)} for d in self.days],
            "unanswered_topics": [
                {"count": t.count, "label": t.label, "languages": t.languages,
                 "questions": [{"question": q, "language": lang, "count": n} for q, lang, n in t.questions]}
                for t in self.unanswered_topics
            ],
            "most_cited": self.most_cited, "down_voted": self.down_voted,
        }


def _rounded(rate: float | None) -> float | None:
    return None if rate is None else round(rate, 3)


def _days(entries: Sequence[LoggedQuestion], since: datetime | None, until: datetime) -> list[DayFigures]:
    """Every day from the start (or the first question) to `until`, days without questions included."""
    first = (since or (entries[0].at if entries else until)).date()
    figures = {first + timedelta(days=n): DayFigures((first + timedelta(days=n)).isoformat())
               for n in range((until.date() - first).days + 1)}
    for entry in entries:
        day = figures.setdefault(entry.at.date(), DayFigures(entry.at.date().isoformat()))
        day.questions += 1
        day.answered += entry.answered
        day.languages[entry.language] = day.languages.get(entry.language, 0) + 1
    return [figures[d] for d in sorted(figures)]


def _most_cited(entries: Sequence[LoggedQuestion]) -> list[dict]:
    counts: Counter[str] = Counter()
    titles: dict[str, str] = {}
    for entry in entries:
        for cited in {c["doc_id"]: c for c in entry.cited if c.get("doc_id")}.values():
            counts[cited["doc_id"]] += 1
            titles[cited["doc_id"]] = cited.get("title", "")
    return [{"doc_id": d, "title": titles[d], "citations": n} for d, n in counts.most_common(MOST_CITED)]


def _down_voted(entries: Sequence[LoggedQuestion]) -> list[dict]:
    disliked = [e for e in reversed(entries) if e.vote is not None and e.vote < 0][:MAX_DOWN_VOTED]
    return [{"at": e.at.isoformat(), "language": e.language, "question": e.question, "answer": e.answer,
             "cited": [c.get("title") or c.get("doc_id", "") for c in e.cited]} for e in disliked]


def build_report(entries: Sequence[LoggedQuestion], embedder: NamedEmbeddings, threshold: float,
                 since: datetime | None = None, until: datetime | None = None,
                 collection: str | None = None) -> InsightReport:
    """The report over `entries` (oldest first) asked from `since` to `until` (now), in `collection` (None: all)."""
    until = until or datetime.now(UTC)
    entries = [e for e in entries if (since is None or e.at >= since) and e.at <= until
               and (collection is None or e.collection == collection)]
    unanswered = [(e.question, e.language) for e in entries if not e.answered]
    return InsightReport(
        since=since, until=until, collection=collection, questions=len(entries),
        answered=sum(e.answered for e in entries),
        languages=dict(Counter(e.language for e in entries).most_common()),
        days=_days(entries, since, until),
        unanswered_topics=group_questions(unanswered, embedder, threshold) if unanswered else [],
        most_cited=_most_cited(entries), down_voted=_down_voted(entries),
    )
