"""The HTTP routes in process (FastAPI TestClient): the real app from `create_app` on a real Chroma store in a temp
folder, seeded with the bundled sample corpus through the deterministic fake embedder, answered by the fake chat
model. Status codes, bodies and limits; answer quality is test_app_api's job (real models, real HTTP)."""

from __future__ import annotations

import pytest
from support import ROOT, build_settings
from web_fixtures import parse_sse

from web.server import create_app

SPANISH_TRADE = "¿Cuánto alcanzó el comercio entre China y América Latina en 2024?"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    settings = build_settings(tmp_path_factory.mktemp("app-routes"), sample_dir=ROOT / "data" / "sample",
                              embedder="fake", answerer="fake", rate_limit="1000/minute")
    return create_app(settings)  # the `http` fixture (conftest) enters no lifespan: no warm-up thread


def test_healthz_counts_the_seeded_sample_documents(http):
    response = http.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    chunks, warm = body["chunks"], body["warm"]  # warm: depends on whether a question came first
    counts = {"documents": 5, "chunks": chunks, "provisional": 0}
    assert body == {"status": "ok", **counts, "warm": warm,
                    "collections": {"forum": {**counts, "lexical_index": warm}}}  # one, the default
    assert chunks > 5 and isinstance(warm, bool)


@pytest.mark.lexical_index_in_background
def test_healthz_is_warm_once_the_lexical_index_holds_the_documents(tmp_path, monkeypatch):
    import threading

    from fastapi.testclient import TestClient

    fresh = create_app(build_settings(tmp_path, sample_dir=ROOT / "data" / "sample", embedder="fake",
                                      answerer="fake"))
    http = TestClient(fresh)  # no lifespan: no warm-up thread
    qa = fresh.state.context.collections.default.qa
    release, read = threading.Event(), qa.index.chunks_of

    def held(records):  # the first build reads the chunks only once the test lets it
        release.wait(30)
        return read(records)

    monkeypatch.setattr(qa.index, "chunks_of", held)
    health = http.get("/healthz").json()  # starts the build, as a question would
    assert health["warm"] is False and health["collections"]["forum"]["lexical_index"] is False
    release.set()
    qa.retriever.lexical_index(wait=True)
    health = http.get("/healthz").json()
    assert health["warm"] is True and health["collections"]["forum"]["lexical_index"] is True


def test_ask_answers_with_numbered_sources_named_by_file_and_linked(http):
    response = http.post("/api/ask", json={"question": SPANISH_TRADE})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["question"] == SPANISH_TRADE and answer["language"] == "es"
    assert answer["answered"] is True and answer["sources"]
    for n, source in enumerate(answer["sources"], start=1):
        assert source["n"] == n and source["title"] and source["snippet"]
        assert "/" not in source["source"]  # the file's name, never its path on the server
        assert source["url"].startswith(f"/view/{source['doc_id']}?q=")  # the viewer, at the quoted passage
    viewer = http.get(answer["sources"][0]["url"])
    assert viewer.status_code == 200 and "<mark>" in viewer.text


def test_an_explicit_answer_language_and_a_history_are_taken(http):
    response = http.post("/api/ask", json={
        "question": SPANISH_TRADE, "lang": "en",
        "history": [{"role": "user", "content": "Hola"}, {"role": "assistant", "content": "¡Hola!"}],
    })
    assert response.status_code == 200, response.text
    assert response.json()["language"] == "en"


def test_chat_streams_tokens_then_one_final_answer(http):
    with http.stream("POST", "/api/chat", json={"question": "2024年中国与拉美的贸易额是多少？"}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = parse_sse("".join(response.iter_text()))
    names = [name for name, _ in events]
    assert names.count("token") >= 1 and names[-1] == "final" and names.count("final") == 1 and "error" not in names
    final = events[-1][1]
    assert final["language"] == "zh" and final["sources"]
    assert "".join(data["text"] for name, data in events if name == "token") == final["answer"]


@pytest.mark.parametrize(
    ("label", "payload"),
    [
        ("empty question", {"question": ""}),
        ("blank question", {"question": "   \n "}),
        ("200,000 characters", {"question": "a" * 200_000}),
        ("question is a number", {"question": 123}),
        ("question is null", {"question": None}),
        ("no question", {"lang": "es"}),
        ("unknown language", {"question": "hola", "lang": "fr"}),
        ("history is a string", {"question": "hola", "history": "earlier"}),
        ("history role", {"question": "hola", "history": [{"role": "system", "content": "x"}]}),
        ("body is a list", ["hola"]),
    ],
)
@pytest.mark.parametrize("route", ["/api/ask", "/api/chat"])
def test_bad_input_is_a_422_with_a_one_line_reason(http, route, label, payload):
    response = http.post(route, json=payload)
    assert response.status_code == 422, f"{label}: {response.status_code} {response.text[:300]}"
    detail = response.json()["detail"]
    assert isinstance(detail, str) and detail and "\n" not in detail, label


@pytest.mark.parametrize("body", ['{"question": ', "not json at all", "{'question': 'hola'}"])
def test_malformed_json_is_400(http, body):
    response = http.post("/api/ask", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.json()["detail"] == "the request body is not valid JSON"


def test_an_empty_body_is_a_422_naming_the_missing_body(http):
    response = http.post("/api/ask", content="", headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    assert "required" in response.json()["detail"].lower()


def test_an_oversized_question_names_the_limit(http):
    response = http.post("/api/ask", json={"question": "x" * 2001})
    assert response.status_code == 422
    assert "2000" in response.json()["detail"]


def test_a_body_over_the_limit_is_413(http):
    history = [{"role": "user", "content": "x" * 19_000}] * 60  # about 1.1 MB; the limit is 1 MB
    response = http.post("/api/ask", json={"question": "hola", "history": history})
    assert response.status_code == 413
    assert response.json()["detail"]


def test_staff_document_routes_are_off_without_an_admin_key(http):
    assert http.get("/api/documents").status_code == 404
    assert http.post("/api/documents", files={"files": ("a.txt", b"hello")}).status_code == 404
    assert http.delete("/api/documents/0123456789abcdef").status_code == 404
    assert http.get("/api/documents", headers={"X-API-Key": "guess"}).status_code == 404


def test_source_files_are_served_for_registry_documents_only(http):
    for bad in ("ffffffffffffffff", "..%2F..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd", "../settings.py"):
        assert http.get(f"/api/documents/{bad}/file").status_code == 404, bad
