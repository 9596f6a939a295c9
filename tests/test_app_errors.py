"""Faults, in process: a bug inside the answerer is a JSON 500 that names a request id, and the log holds its
traceback under that id; a request the language model's server refuses (not down, a 4xx) is a 502 with one line;
a model server that is down is a 503 with its reason, and the next question after it is back is answered, from
/api/ask and from `bot ask --json` (one error line per question, exit 1). None is caught in the core (bot/llm.py
lets bugs through): web/errors.py and the CLI map them. The warm-up, too, survives a backend down but not a bug.
tests/test_app_faults.py does the same over real HTTP against a served app (slow)."""

from __future__ import annotations

import json
import logging
import threading

import httpx
import pytest
from fastapi.testclient import TestClient
from slow_llm import slow_llm
from support import ROOT, build_settings

from bot.chain import ForumQA
from bot.fake_chat_model import ContextEchoChatModel
from bot.llm import LLMAnswerer, LLMUnavailable
from web.context import warm_up_in_background
from web.server import create_app

QUESTION = "¿Cuánto alcanzó el comercio entre China y América Latina en 2024?"


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    settings = build_settings(tmp_path_factory.mktemp("app-errors"), sample_dir=ROOT / "data" / "sample",
                              embedder="fake", answerer="fake", rate_limit="1000/minute")
    return TestClient(create_app(settings), raise_server_exceptions=False)  # what a real client gets


def assert_logged_500(response, caplog, error: type[Exception]) -> None:
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/json"
    request_id = response.json()["request_id"]
    assert request_id in response.json()["detail"] and response.headers["x-request-id"] == request_id
    logged = [r for r in caplog.records if request_id in r.getMessage()]
    assert logged and logged[0].exc_info[0] is error, caplog.text  # the traceback, under the id


def test_a_bug_in_the_answerer_is_a_json_500_with_a_logged_request_id(client, monkeypatch, caplog):
    def broken_finish(self, request, raw):
        raise KeyError("a bug in the answerer")

    monkeypatch.setattr(LLMAnswerer, "finish", broken_finish)
    with caplog.at_level(logging.ERROR, logger="web.errors"):
        response = client.post("/api/ask", json={"question": QUESTION})
    assert_logged_500(response, caplog, KeyError)


def test_a_bug_before_the_first_streamed_piece_is_a_json_500_too(client, monkeypatch, caplog):
    async def broken_astream(self, request):
        raise KeyError("a bug in the answerer")
        yield  # an async generator, as the real one

    monkeypatch.setattr(LLMAnswerer, "astream", broken_astream)
    with caplog.at_level(logging.ERROR, logger="web.errors"):
        response = client.post("/api/chat", json={"question": QUESTION})
    assert_logged_500(response, caplog, KeyError)


def test_a_request_id_sent_by_a_proxy_is_kept_and_a_strange_one_replaced(client, monkeypatch):
    monkeypatch.setattr(LLMAnswerer, "finish", lambda self, request, raw: 1 / 0)
    kept = client.post("/api/ask", json={"question": QUESTION}, headers={"X-Request-ID": "edge-42.a_b"})
    assert kept.json()["request_id"] == "edge-42.a_b"
    replaced = client.post("/api/ask", json={"question": QUESTION}, headers={"X-Request-ID": "x\r\nforged: 1"})
    assert replaced.status_code == 500 and "forged" not in replaced.json()["request_id"]


@pytest.mark.parametrize(("fault", "status", "detail"), [
    (httpx.HTTPStatusError("401 Unauthorized", request=httpx.Request("POST", "http://llm.test/v1"),
                           response=httpx.Response(401)), 502, "the language model could not answer this question"),
    (httpx.ConnectError("connection refused"), 503, "the language model is unavailable; please try again in a moment"),
], ids=["refused", "down"])
def test_a_request_the_model_refuses_is_a_502_and_a_model_down_a_503(client, monkeypatch, fault, status, detail):
    def failing(self, *args, **kwargs):
        raise fault

    monkeypatch.setattr(ContextEchoChatModel, "_generate", failing)
    response = client.post("/api/ask", json={"question": QUESTION})
    assert response.status_code == status, response.text
    assert response.json() == {"detail": detail}


@pytest.fixture(scope="module")
def llm():
    """A small OpenAI-compatible server (tests/slow_llm.py) that a test may stop and start again."""
    with slow_llm(token_delay_s=0.0, tokens=3) as server:
        yield server


@pytest.fixture(scope="module")
def llm_client(tmp_path_factory, llm):
    settings = build_settings(tmp_path_factory.mktemp("app-llm-down"), sample_dir=ROOT / "data" / "sample",
                              embedder="fake", answerer="openai", llm_base_url=llm.api_url,
                              rate_limit="1000/minute")
    return TestClient(create_app(settings), raise_server_exceptions=False)


def test_an_llm_server_down_is_a_503_with_a_reason_and_the_next_question_after_it_is_back_works(llm_client, llm):
    assert llm_client.post("/api/ask", json={"question": QUESTION}).status_code == 200
    llm.stop()
    try:
        down = llm_client.post("/api/ask", json={"question": QUESTION})
    finally:
        llm.start()
    assert down.status_code == 503 and down.headers["retry-after"]
    assert down.json() == {"detail": "the language model is unavailable; please try again in a moment"}
    back = llm_client.post("/api/ask", json={"question": QUESTION})
    assert back.status_code == 200, back.text
    assert back.json()["answer"].startswith("According to the report") and back.json()["sources"], back.json()


def test_bot_ask_json_over_3_questions_with_the_llm_down_writes_3_error_lines_and_exits_1(ingest_in_process,
                                                                                         run_main, llm):
    assert ingest_in_process("--embedder", "fake", ROOT / "data" / "sample").returncode == 0
    questions = [QUESTION, "Where was the forum held?", "2024年中国与拉美的贸易额是多少？"]
    llm.stop()
    try:
        result = run_main("bot", "ask", "--json", "--embedder", "fake", "--answerer", "openai",
                          stdin="".join(f"{q}\n" for q in questions),
                          env_override={"FORUMQA_LLM_BASE_URL": llm.api_url})
    finally:
        llm.start()
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["question"] for line in lines] == questions, result.output
    for line in lines:
        assert llm.api_url in line["error"] and "\n" not in line["error"] and "answer" not in line, line
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr


def warm_up(client: TestClient) -> list[threading.ExceptHookArgs]:
    """Runs the app's warm-up to its end; what it let escape (its thread's uncaught exceptions)."""
    escaped = []
    hook, threading.excepthook = threading.excepthook, escaped.append
    try:
        warm_up_in_background(client.app.state.context).join(timeout=60)
    finally:
        threading.excepthook = hook
    return escaped


def test_the_warm_up_survives_a_backend_down_with_a_warning(client, monkeypatch, caplog):
    def down(self, question, lang="auto", **kwargs):
        raise LLMUnavailable("the language model at 127.0.0.1:9 does not answer (ConnectError)")

    monkeypatch.setattr(ForumQA, "ask", down)
    with caplog.at_level(logging.WARNING, logger="web.context"):
        assert warm_up(client) == []
    assert "warm-up question in collection forum failed: the language model at" in caplog.text


def test_a_bug_in_the_warm_up_surfaces_with_its_traceback(client, monkeypatch, caplog):
    def broken(self, question, lang="auto", **kwargs):
        raise KeyError("a bug in the chain")

    monkeypatch.setattr(ForumQA, "ask", broken)
    with caplog.at_level(logging.WARNING, logger="web.context"):
        escaped = warm_up(client)
    assert [e.exc_type for e in escaped] == [KeyError]  # printed with its traceback by the default hook
    assert "failed" not in caplog.text  # not turned into a warning
