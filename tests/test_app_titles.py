"""Staff retitle a document over HTTP (`PATCH /api/documents/{id}`, admin key), in process on a temp store seeded
with the sample corpus: the new title is listed and names the document in the next answer's sources."""

from __future__ import annotations

import pytest
from support import ROOT, build_settings

from web.server import create_app

ADMIN_KEY = "staff-key-for-tests-0123456789"
KEY = {"X-API-Key": ADMIN_KEY}
QUESTION = "¿Qué propone la nota sobre cooperación portuaria y logística?"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    settings = build_settings(tmp_path_factory.mktemp("app-titles"), sample_dir=ROOT / "data" / "sample",
                              embedder="fake", answerer="fake", rate_limit="1000/minute", admin_api_key=ADMIN_KEY)
    return create_app(settings)


def port_note(http) -> dict:
    documents = http.get("/api/documents", headers=KEY).json()["documents"]
    return next(d for d in documents if d["source"].endswith("puertos-logistica-es.txt"))


def test_a_title_changes_only_with_the_admin_key(http):
    doc_id = port_note(http)["doc_id"]
    assert http.patch(f"/api/documents/{doc_id}", json={"title": "Guessed"}).status_code == 401
    assert http.patch(f"/api/documents/{doc_id}", json={"title": "Guessed"},
                      headers={"X-API-Key": "wrong"}).status_code == 403
    assert port_note(http)["title"] == "Nota sobre cooperación portuaria y logística entre China y América Latina"

    response = http.patch(f"/api/documents/{doc_id}", json={"title": "Puertos: nota de trabajo 2026"}, headers=KEY)
    assert response.status_code == 200, response.text
    assert response.json()["title"] == "Puertos: nota de trabajo 2026" and response.json()["title_set"] is True
    assert port_note(http)["title"] == "Puertos: nota de trabajo 2026"

    answer = http.post("/api/ask", json={"question": QUESTION}).json()
    titles = {s["doc_id"]: s["title"] for s in answer["sources"] + answer["also_retrieved"]}
    assert titles.get(doc_id) == "Puertos: nota de trabajo 2026", answer


@pytest.mark.parametrize("body", [{"title": ""}, {"title": "   "}, {"title": "x" * 301}, {}, {"title": 3}])
def test_a_blank_or_overlong_title_is_422(http, body):
    doc_id = port_note(http)["doc_id"]
    assert http.patch(f"/api/documents/{doc_id}", json=body, headers=KEY).status_code == 422


def test_an_unknown_document_is_404(http):
    for doc_id in ("ffffffffffffffff", "not-an-id"):
        response = http.patch(f"/api/documents/{doc_id}", json={"title": "T"}, headers=KEY)
        assert response.status_code == 404, doc_id
