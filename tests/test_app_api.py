"""The HTTP API of `python app.py`, over real HTTP against one server on the bundled sample corpus with the real
models: answers and their sources, streaming, the origin policy, the source-file links, the widget script and the
Gradio chat endpoint (through gradio_client). Status codes of bad input: test_app_routes (in process)."""

from __future__ import annotations

import pytest
from web_fixtures import parse_sse, running_app

ALLOWED_ORIGIN = "http://allowed.example:8080"
SPANISH_TRADE = "¿Cuánto alcanzó el comercio entre China y América Latina en 2024?"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    with running_app(tmp_path_factory.mktemp("app-api"), allowed_origins=[ALLOWED_ORIGIN],
                     rate_limit="1000/minute") as server:
        yield server


def test_healthz_counts_the_sample_documents(http):
    response = http.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["documents"] == 5
    assert body["chunks"] > 5
    assert body["provisional"] == 0  # the seeded sample corpus is refined before the app serves


def test_ask_answers_a_spanish_question_in_spanish_with_sources(http):
    response = http.post("/api/ask", json={"question": SPANISH_TRADE})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["language"] == "es"
    assert answer["answered"] is True
    assert "518" in answer["answer"]
    assert answer["sources"], "an answer lists its sources"
    first = answer["sources"][0]
    assert first["title"] and first["snippet"] and first["doc_id"]
    assert set(answer) >= {"question", "answer", "language", "answered", "sources", "warnings"}


def test_ask_takes_an_answer_language_and_a_history(http):
    response = http.post("/api/ask", json={
        "question": "Where was the China–LAC think tank forum held?", "lang": "en",
        "history": [{"role": "user", "content": "Hola"}, {"role": "assistant", "content": "¡Hola!"}],
    })
    assert response.status_code == 200, response.text
    assert response.json()["language"] == "en"
    assert "Shanghai" in response.json()["answer"]


def test_chat_streams_tokens_then_a_final_event_with_sources(http):
    with http.stream("POST", "/api/chat", json={"question": "2024年中国与拉美的贸易额是多少？"}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        body = "".join(response.iter_text())
    events = parse_sse(body)
    names = [name for name, _ in events]
    assert names.count("token") >= 2 and names[-1] == "final" and names.count("final") == 1
    assert "final" not in names[:-1] and "error" not in names
    final = events[-1][1]
    assert final["language"] == "zh" and final["answered"] is True and final["sources"]
    assert "".join(data["text"] for name, data in events if name == "token") == final["answer"]


def test_source_links_serve_registry_documents_only(http):
    answer = http.post("/api/ask", json={"question": SPANISH_TRADE}).json()
    doc_id = answer["sources"][0]["doc_id"]
    response = http.get(f"/api/documents/{doc_id}/file")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "sandbox" in response.headers["content-security-policy"]
    assert "518" in response.text
    for bad in ("ffffffffffffffff", "..%2F..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd", "../settings.py"):
        assert http.get(f"/api/documents/{bad}/file").status_code == 404, bad


def test_requests_from_a_foreign_origin_are_refused(http, app):
    question = {"question": SPANISH_TRADE}
    refused = http.post("/api/ask", json=question, headers={"Origin": "http://evil.example"})
    assert refused.status_code == 403
    assert "not allowed" in refused.json()["detail"]
    preflight = http.options("/api/chat", headers={
        "Origin": "http://evil.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-session-id",
    })
    assert preflight.status_code == 403

    allowed = http.post("/api/ask", json=question, headers={"Origin": ALLOWED_ORIGIN})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    same_origin = http.post("/api/ask", json=question, headers={"Origin": app.base_url})
    assert same_origin.status_code == 200


def test_an_allowed_origin_passes_the_cors_preflight(http):
    preflight = http.options("/api/chat", headers={
        "Origin": ALLOWED_ORIGIN, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-session-id",
    })
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert "x-session-id" in preflight.headers["access-control-allow-headers"].lower()


def test_widget_script_docs_and_chat_page_are_served(http):
    widget = http.get("/widget.js")
    assert widget.status_code == 200
    assert "javascript" in widget.headers["content-type"]
    assert len(widget.content) < 30 * 1024
    assert "document.currentScript" in widget.text
    assert http.get("/docs").status_code == 200
    paths = http.get("/openapi.json").json()["paths"]
    assert {"/api/ask", "/api/chat", "/healthz", "/api/documents"} <= set(paths)
    page = http.get("/")
    assert page.status_code == 200 and "<html" in page.text.lower()


def test_gradio_client_gets_an_answer_through_the_chat_endpoint(app, tmp_path, monkeypatch):
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))
    from gradio_client import Client

    client = Client(app.base_url, verbose=False, analytics_enabled=False, download_files=str(tmp_path / "files"))
    try:
        reply = client.predict(SPANISH_TRADE, "es", api_name="/chat")
    finally:
        client.close()  # its heartbeat stream would hold the server's shutdown
    text = reply if isinstance(reply, str) else str(reply)
    assert "518" in text
    assert "Fuentes" in text
    assert "/view/" in text
