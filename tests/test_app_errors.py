"""Faults the routes did not foresee, in process: a bug inside the answerer is a JSON 500 that names a request id,
and the log holds its traceback under that id; a request the language model's server refuses (not down, a 4xx)
is a 502 with one line. Neither is caught in the core (bot/llm.py lets bugs through): web/errors.py maps them."""

from __future__ import annotations

import logging

import httpx
import pytest
from fastapi.testclient import TestClient
from support import ROOT, build_settings

from bot.fake_chat_model import ContextEchoChatModel
from bot.llm import LLMAnswerer
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
