"""The question log in the web app and /admin/insights: in process (TestClient; fake embedder and answerer) every
way to ask is logged once with its channel, the chat's vote is tied to its question, a failing log does not
touch the answer, and the page is behind the admin key (401 without it, with a Basic challenge a browser
answers), with its chart drawn inline under a CSP without script; then once over real HTTP."""

from __future__ import annotations

import asyncio
import base64
import sqlite3
from datetime import UTC, datetime

import gradio as gr
import pytest
from support import ROOT, build_settings
from web_fixtures import parse_sse, running_app

from store.question_log import LoggedQuestion, SqliteQuestionLog
from web.chat_ui import ChatHandlers
from web.server import create_app

ADMIN_KEY = "insights-admin-key"
SPANISH = "¿Cuánto alcanzó el comercio entre China y América Latina en 2024?"
KEY = {"X-API-Key": ADMIN_KEY}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    settings = build_settings(tmp_path_factory.mktemp("app-insights"), sample_dir=ROOT / "data" / "sample",
                              embedder="fake", answerer="fake", rate_limit="1000/minute",
                              admin_api_key=ADMIN_KEY, question_log=True)
    return create_app(settings)


@pytest.fixture(scope="module")
def ctx(app):
    return app.state.context


def logged(ctx) -> list:
    assert ctx.questions.flush()
    return ctx.questions.log.entries()


def test_each_way_to_ask_is_logged_once_and_the_vote_finds_its_question(http, ctx):
    before = len(logged(ctx))
    assert http.post("/api/ask", json={"question": SPANISH}).status_code == 200
    with http.stream("POST", "/api/chat", json={"question": "2024年中国与拉美的贸易额是多少？"}) as response:
        assert [name for name, _ in parse_sse("".join(response.iter_text()))][-1] == "final"

    async def chat():
        return [step async for step in ChatHandlers(ctx).chat("Where was the forum held?", [], "en", {})]

    rendered, answers = asyncio.run(chat())[-1]
    ChatHandlers(ctx).feedback(answers, gr.LikeData(None, {"index": 1, "value": rendered, "liked": False}))
    entries = logged(ctx)[before:]
    assert [(e.channel, e.language) for e in entries] == [("api", "es"), ("stream", "zh"), ("chat", "en")]
    assert entries[0].question == SPANISH and entries[0].cited and entries[0].collection == "forum"
    assert [e.vote for e in entries] == [None, None, -1]
    assert ctx.settings.feedback_path.exists()  # the feedback file keeps its votes too
    stored = b"".join(path.read_bytes() for path in ctx.settings.question_log_path.parent.glob("store-questions*"))
    assert SPANISH.encode() in stored and b"testclient" not in stored  # TestClient's address is never kept


def test_insights_need_the_admin_key(http):
    missing = http.get("/admin/insights")
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"].startswith("Basic ")
    assert http.get("/admin/insights", headers={"X-API-Key": "wrong"}).status_code == 403
    basic = base64.b64encode(f"editor:{ADMIN_KEY}".encode()).decode()
    assert http.get("/admin/insights", headers={"Authorization": f"Basic {basic}"}).status_code == 200


def test_the_page_shows_the_report_with_an_inline_chart_and_no_script(http, ctx):
    ctx.questions.log.add([LoggedQuestion(id="html", at=datetime.now(UTC), language="es", collection="forum",
                                          channel="api", question="<b>¿Quiénes asistieron?</b>", answered=False)])
    page = http.get("/admin/insights", headers=KEY)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<svg" in page.text and "<rect" in page.text and "What visitors asked" in page.text
    assert "&lt;b&gt;¿Quiénes asistieron?&lt;/b&gt;" in page.text and "<b>¿Quiénes" not in page.text
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script" not in policy and "unsafe-inline" not in policy
    assert "<script" not in page.text and " style=" not in page.text
    report = http.get("/admin/insights?format=json&since=all", headers=KEY).json()
    assert report["questions"] == len(ctx.questions.log.entries()) and report["days"][-1]["questions"] > 0
    assert http.get("/admin/insights?since=someday", headers=KEY).status_code == 422
    other = http.get("/admin/insights?collection=other_forum", headers=KEY)
    assert "What visitors asked in other_forum" in other.text and "0 questions" in other.text


class BrokenLog(SqliteQuestionLog):
    def __init__(self, path):
        super().__init__(path)
        path.touch()  # there, but unreadable

    def _connect(self):
        raise sqlite3.OperationalError("unable to open database file")


def test_an_unreadable_log_is_a_503_on_the_page(http, ctx, tmp_path, monkeypatch):
    monkeypatch.setattr(ctx.questions, "log", BrokenLog(tmp_path / "broken.sqlite3"))
    response = http.get("/admin/insights", headers=KEY)
    assert response.status_code == 503
    assert response.json()["detail"] == "the question log cannot be read: OperationalError"


def test_a_bug_in_the_report_is_not_called_an_unreadable_log(http, ctx, monkeypatch):
    def bug(*args, **kwargs):
        raise TypeError("a bug, not the database")

    monkeypatch.setattr("web.insights.build_report", bug)
    with pytest.raises(TypeError):  # the app's 500 with a request id (web.errors), not "cannot be read"
        http.get("/admin/insights", headers=KEY)


def test_a_failing_log_does_not_touch_the_answer(http, ctx, tmp_path, caplog, monkeypatch):
    monkeypatch.setattr("web.question_recorder.RETRY_AFTER_S", 0.01)
    monkeypatch.setattr(ctx.questions, "log", BrokenLog(tmp_path / "broken.sqlite3"))
    response = http.post("/api/ask", json={"question": SPANISH})
    assert response.status_code == 200 and response.json()["answered"]
    assert ctx.questions.flush()
    assert "not written: QuestionLogUnavailable: OperationalError: unable to open database file" in caplog.text


@pytest.mark.slow
def test_over_http_the_log_lies_beside_the_store_and_the_page_needs_the_key(tmp_path):
    with running_app(tmp_path, embedder="fake", answerer="fake", admin_api_key=ADMIN_KEY,
                     question_log="true", question_log_days=30) as server, server.client() as http:
        assert http.post("/api/ask", json={"question": SPANISH}).status_code == 200
        assert http.get("/admin/insights").status_code == 401
        deadline_report = None
        for _ in range(50):  # the writer thread writes within moments
            deadline_report = http.get("/admin/insights?format=json", headers=KEY).json()
            if deadline_report["questions"]:
                break
        assert deadline_report["questions"] == 1 and deadline_report["languages"] == {"es": 1}
        page = http.get("/admin/insights", headers=KEY)
        assert page.status_code == 200 and "<svg" in page.text
    assert (tmp_path / "store-questions.sqlite3").exists()
    stored = b"".join(path.read_bytes() for path in tmp_path.glob("store-questions.sqlite3*"))
    assert SPANISH.encode() in stored and b"127.0.0.1" not in stored  # the visitor's address is never kept
