"""The question log (SQLite, in a temp folder) and its writer: entries and votes land, retention and the row cap
delete the oldest, a failing log never reaches the caller; the report's figures and `python -m bot report`'s
three formats over a generated log (fake embedder: topics across languages are test_bot_insight_topics' job)."""

from __future__ import annotations

import csv
import io
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from support import build_settings

from bot import Answer, Source
from bot.insights import InvalidSince, build_report, parse_since
from store import QuestionLogUnavailable
from store.embedders import FakeEmbeddings
from store.question_log import LoggedQuestion, SqliteQuestionLog, open_question_log
from web.question_recorder import QuestionRecorder

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def entry(n: int, days_ago: float, answered: bool = True, language: str = "en", vote: int | None = None,
          question: str | None = None, cited: tuple[str, ...] = ("doc-a",), now: datetime = NOW) -> LoggedQuestion:
    return LoggedQuestion(
        id=f"e{n:04d}", at=now - timedelta(days=days_ago), language=language, collection="forum", channel="api",
        question=question or f"question {n}", answered=answered,
        cited=[{"doc_id": d, "title": f"Title of {d}"} for d in cited] if answered else [],
        answer=f"answer {n}", vote=vote,
    )


def answer(question: str, answered: bool = True, language: str = "es") -> Answer:
    sources = [Source(1, "report.md", "Report", language, "…", 3.2, doc_id="doc-1")] if answered else []
    return Answer(question, "Respuesta [1]" if answered else "No lo dicen.", language, answered, sources)


@pytest.fixture
def question_log(tmp_path):
    log = SqliteQuestionLog(tmp_path / "store-questions.sqlite3")
    yield log
    log.close()


def test_entries_come_back_with_their_vote_and_citations(question_log):
    question_log.add([entry(1, 2), entry(2, 1, answered=False, language="zh", question="谁参加了论坛？")])
    question_log.vote("e0001", liked=False)
    first, second = question_log.entries()
    assert (first.id, first.vote, first.cited) == ("e0001", -1, [{"doc_id": "doc-a", "title": "Title of doc-a"}])
    assert (second.question, second.language, second.answered, second.vote) == ("谁参加了论坛？", "zh", False, None)
    assert [e.id for e in question_log.entries(NOW - timedelta(days=1.5))] == ["e0002"]


def test_retention_deletes_old_rows_and_the_cap_the_oldest(question_log):
    question_log.add([entry(n, days_ago=n + 0.5) for n in range(1, 11)])  # 1.5 to 10.5 days old
    question_log.prune(keep_days=7, max_rows=1000, now=NOW)
    assert sorted(e.id for e in question_log.entries()) == [f"e{n:04d}" for n in range(1, 7)]
    question_log.prune(keep_days=7, max_rows=3, now=NOW)
    assert sorted(e.id for e in question_log.entries()) == ["e0001", "e0002", "e0003"]  # the newest three


def test_a_row_keeps_within_its_size(question_log):
    question_log.add([entry(1, 0, question="x" * 5000)])
    assert len(question_log.entries()[0].question) == 1000


def test_the_recorder_writes_in_the_background_and_ties_the_vote(tmp_path):
    settings = build_settings(tmp_path, question_log=True)
    recorder = QuestionRecorder(settings)
    entry_id = recorder.record(answer("¿Quiénes asistieron?", answered=False), "chat")
    recorder.record(answer("¿Cuánto alcanzó el comercio?"), "api", collection="other_forum")
    recorder.vote(entry_id, liked=False)
    assert recorder.flush()
    logged = {e.question: e for e in open_question_log(settings).entries()}
    assert settings.question_log_path.exists() and settings.question_log_path.parent == tmp_path
    assert logged["¿Quiénes asistieron?"].vote == -1 and not logged["¿Quiénes asistieron?"].answered
    trade = logged["¿Cuánto alcanzó el comercio?"]
    assert (trade.collection, trade.channel, trade.cited[0]["doc_id"], trade.language) == (
        "other_forum", "api", "doc-1", "es")
    recorder.close()


def test_the_recorder_is_off_by_default(tmp_path):
    settings = build_settings(tmp_path)
    recorder = QuestionRecorder(settings)
    assert recorder.record(answer("¿Dónde?"), "api") is None
    assert not settings.question_log_path.exists()


class BrokenLog(SqliteQuestionLog):
    def add(self, entries):
        raise OSError("disk full")


def test_a_failing_log_is_logged_and_the_caller_goes_on(tmp_path, caplog, monkeypatch):
    monkeypatch.setattr("web.question_recorder.RETRY_AFTER_S", 0.01)
    recorder = QuestionRecorder(build_settings(tmp_path, question_log=True), BrokenLog(tmp_path / "log.sqlite3"))
    assert recorder.record(answer("¿Dónde?"), "api")  # an id: the caller never sees the failure
    assert recorder.flush()
    assert "not written: OSError: disk full" in caplog.text


class CountedLog(SqliteQuestionLog):
    """Counts prunes (and fails them while `failing`); lists its connections and closes in order."""

    def __init__(self, path):
        super().__init__(path)
        self.prunes, self.failing, self.events = 0, False, []

    def prune(self, keep_days, max_rows, now=None):
        self.prunes += 1
        self.events.append("prune")
        if self.failing:
            raise QuestionLogUnavailable("OperationalError: database is locked")
        super().prune(keep_days, max_rows, now)

    def _connect(self):
        self.events.append("connect")
        return super()._connect()

    def close(self):
        self.events.append("close")
        super().close()


def wait_for(condition, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_the_recorder_prunes_at_start_then_every_so_many_rows_and_retries_a_failed_prune(tmp_path, caplog,
                                                                                          monkeypatch):
    monkeypatch.setattr("web.question_recorder.PRUNE_EVERY_ROWS", 3)
    question_log = CountedLog(tmp_path / "log.sqlite3")
    question_log.add([entry(1, days_ago=100, now=datetime.now(UTC))])  # past question_log_days (90)
    recorder = QuestionRecorder(build_settings(tmp_path, question_log=True), question_log)

    def asked(n: int) -> int:
        for _ in range(n):
            recorder.record(answer("¿Dónde?"), "api")
            assert recorder.flush()
        return question_log.prunes

    wait_for(lambda: question_log.prunes == 1)  # at start, before any question
    assert question_log.entries() == []
    assert asked(2) == 1  # 2 new rows: not yet
    question_log.failing = True
    assert asked(1) == 2  # 3 rows: due, and it fails
    assert "question log: old questions not deleted: QuestionLogUnavailable: OperationalError" in caplog.text
    question_log.failing = False
    assert asked(1) == 3  # still due: tried again after the next question
    assert asked(2) == 3  # 2 rows since that prune
    recorder.close()


def test_the_recorder_drops_entries_past_its_queue_and_the_caller_goes_on(tmp_path, caplog, monkeypatch):
    monkeypatch.setattr("web.question_recorder.MAX_PENDING", 2)
    writing, go_on = threading.Event(), threading.Event()

    class SlowLog(SqliteQuestionLog):
        def add(self, entries):
            writing.set()
            go_on.wait(30)
            super().add(entries)

    recorder = QuestionRecorder(build_settings(tmp_path, question_log=True), SlowLog(tmp_path / "log.sqlite3"))
    recorder.record(answer("first"), "api")
    assert writing.wait(10)  # the writer holds the first entry; the queue takes two more
    ids = [recorder.record(answer(f"then {n}"), "api") for n in range(4)]
    assert all(ids)  # an id each: the caller never learns that two were dropped
    assert "question log: 1 entries dropped, the writer is behind" in caplog.text
    go_on.set()
    assert recorder.flush()
    assert [e.question for e in recorder.log.entries()] == ["first", "then 0", "then 1"]
    recorder.close()


def test_close_writes_what_is_queued_then_closes_the_log_for_good(tmp_path, monkeypatch):
    monkeypatch.setattr("web.question_recorder.PRUNE_EVERY_S", 0.0)  # a prune after every batch
    question_log = CountedLog(tmp_path / "log.sqlite3")
    recorder = QuestionRecorder(build_settings(tmp_path, question_log=True), question_log)
    for n in range(5):
        recorder.record(answer(f"question {n}"), "api")
    recorder.close()
    time.sleep(0.3)  # a writer left running would prune (and connect) again now
    assert question_log.events[-1] == "close", question_log.events
    assert len(SqliteQuestionLog(tmp_path / "log.sqlite3").entries()) == 5


def test_an_entry_is_cut_to_a_rows_size_when_it_is_made():
    long = LoggedQuestion(id="e1", at=NOW, language="zh", collection="forum", channel="api", question="问" * 5000,
                          answered=True, cited=[{"doc_id": "d", "title": "题" * 500}], answer="答" * 5000)
    assert (len(long.question), len(long.answer), len(long.cited[0]["title"])) == (1000, 300, 120)


def test_postgres_urls_only(tmp_path):
    from settings import InvalidSettings, load_settings

    with pytest.raises(InvalidSettings, match="question_log_url"):
        load_settings(store_dir=tmp_path, question_log_url="mysql://db/forum")
    assert load_settings(store_dir=tmp_path, question_log_url="postgresql://u@h/db").question_log_url


def test_since_takes_spans_dates_and_all():
    assert parse_since("30d", NOW) == NOW - timedelta(days=30)
    assert parse_since("12h", NOW) == NOW - timedelta(hours=12)
    assert parse_since("2026-11-01", NOW) == datetime(2026, 11, 1, tzinfo=UTC)
    assert parse_since("all", NOW) is None
    with pytest.raises(InvalidSince):
        parse_since("last month", NOW)


def generated_log(now: datetime = NOW) -> list[LoggedQuestion]:
    """Three days: 6, 4 and 2 questions, half answered on the first day, one disliked answer."""
    entries = [entry(n, 2.0 + n / 100, answered=n % 2 == 0, language=("en", "es", "zh")[n % 3], now=now)
               for n in range(6)]
    entries += [entry(10 + n, 1.0 + n / 100, cited=("doc-a", "doc-b"), now=now) for n in range(4)]
    entries += [entry(20, 0.1, vote=-1, cited=("doc-b",), now=now), entry(21, 0.05, language="zh", now=now)]
    return sorted(entries, key=lambda e: e.at)


def test_the_report_counts_days_languages_citations_and_down_votes():
    report = build_report(generated_log(), FakeEmbeddings(), 0.9, since=NOW - timedelta(days=3), until=NOW)
    assert report.questions == 12 and report.answered == 9
    counted = {d.day: (d.questions, d.answered) for d in report.days if d.questions}
    assert counted == {"2026-11-27": (6, 3), "2026-11-28": (4, 4), "2026-11-29": (2, 2)}
    assert len(report.days) == 4  # every day from the start, days without questions too
    assert report.most_cited[0] == {"doc_id": "doc-a", "title": "Title of doc-a", "citations": 8}
    assert [v["question"] for v in report.down_voted] == ["question 20"]
    assert sum(t.count for t in report.unanswered_topics) == 3
    entries = generated_log()
    entries[0].collection = "other_forum"
    other = build_report(entries, FakeEmbeddings(), 0.9, since=NOW - timedelta(days=3), until=NOW,
                         collection="other_forum")
    assert (other.questions, other.collection) == (1, "other_forum")


@pytest.fixture
def logged_store(tmp_path):
    store = tmp_path / "store"
    log = SqliteQuestionLog(tmp_path / "store-questions.sqlite3")
    log.add(generated_log(datetime.now(UTC)))  # the CLI reports up to now
    log.close()
    return store


def test_bot_report_prints_the_figures_in_each_format(run_main, logged_store, tmp_path):
    common = ("report", "--store", logged_store, "--since", "all", "--embedder", "fake")
    as_json = run_main("bot", *common, "--format", "json")
    assert as_json.returncode == 0, as_json.output
    body = as_json.json()
    assert (body["questions"], body["answered"], body["answered_rate"]) == (12, 9, 0.75)
    assert body["most_cited"][0]["citations"] == 8 and body["down_voted"][0]["question"] == "question 20"

    as_csv = run_main("bot", *common, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert as_csv.returncode == 0 and rows[0]["section"] == "total" and rows[0]["count"] == "12"
    assert {r["section"] for r in rows} == {"total", "day", "unanswered", "cited", "down_voted"}

    as_md = run_main("bot", *common)
    assert as_md.returncode == 0
    elsewhere = run_main("bot", *common, "--collection", "other_forum", "--format", "json")
    assert elsewhere.returncode == 0 and elsewhere.json()["questions"] == 0
    assert "12 questions" in as_md.stdout and "9 answered (75%)" in as_md.stdout
    assert "## Unanswered questions by topic" in as_md.stdout and "Title of doc-a (doc-a) — 8" in as_md.stdout


def test_bot_report_refuses_a_bad_since_with_one_line(run_main, logged_store):
    result = run_main("bot", "report", "--store", logged_store, "--since", "soon", "--embedder", "fake")
    assert result.returncode == 2 and result.stderr.strip().startswith("error: --since 'soon'")


def test_bot_report_on_an_unreachable_postgresql_is_one_line(run_main, tmp_path):
    from support import free_port

    url = f"postgresql://forumqa@127.0.0.1:{free_port()}/forumqa"  # nothing listens there
    result = run_main("bot", "report", "--log-url", url, "--embedder", "fake")
    assert result.returncode == 2 and result.stderr.startswith("error: the question log cannot be read: ")
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
