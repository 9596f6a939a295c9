"""Staff ingest over HTTP (`/api/documents`, admin key) and the rate limit, against one real server:
uploads are listed and answerable at once, bad files are reported without losing stored documents.

Each test uploads what it needs and leaves the store as the sample corpus (an autouse fixture deletes the rest),
so the tests pass alone and in any order."""

from __future__ import annotations

import pytest
from web_fixtures import running_app

ADMIN_KEY = "staff-key-for-tests-0123456789"
KEY = {"X-API-Key": ADMIN_KEY}
RATE_LIMIT = 14  # per minute and client address
SPENDER = {"X-Forwarded-For": "203.0.113.7"}  # the rate-limit test's own address, so it spends no other test's

GRANT_NOTE = (
    "Programa Cóndor de becas portuarias\n\n"
    "Documento ficticio para las pruebas. El Programa Cóndor de becas portuarias ofrece 37 becas anuales "
    "a ingenieros de puertos del Pacífico. La convocatoria cierra el 14 de marzo de 2026 y la sede del "
    "programa está en Valparaíso.\n"
).encode()

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    with running_app(tmp_path_factory.mktemp("app-docs"), admin_api_key=ADMIN_KEY, max_upload_mb=0.25,
                     rate_limit=f"{RATE_LIMIT}/minute", trusted_proxies=["127.0.0.1"]) as server:
        yield server


def listing(http) -> list[dict]:
    response = http.get("/api/documents", headers=KEY)
    assert response.status_code == 200, response.text
    return response.json()["documents"]


@pytest.fixture(scope="module")
def sample_doc_ids(http) -> set[str]:
    return {doc["doc_id"] for doc in listing(http)}


@pytest.fixture(autouse=True)
def only_the_sample_corpus_after_each_test(http, sample_doc_ids):
    yield
    for doc in listing(http):
        if doc["doc_id"] not in sample_doc_ids:
            assert http.delete(f"/api/documents/{doc['doc_id']}", headers=KEY).status_code == 200


@pytest.fixture
def grant_note(http) -> str:
    """GRANT_NOTE uploaded as becas-condor-es.txt; its doc_id."""
    response = upload(http, ("becas-condor-es.txt", GRANT_NOTE))
    assert response.status_code == 200, response.text
    (stored,) = response.json()["files"]
    assert stored["status"] == "added"
    return stored["doc_id"]


def upload(http, *files: tuple[str, bytes], headers=KEY):
    return http.post("/api/documents", files=[("files", f) for f in files], headers=headers)


def test_staff_routes_need_the_admin_key(http):
    assert upload(http, ("a.txt", b"hello"), headers={}).status_code == 401
    assert upload(http, ("a.txt", b"hello"), headers={"X-API-Key": "wrong"}).status_code == 403
    assert http.get("/api/documents").status_code == 401
    assert http.get("/api/documents", headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert http.delete("/api/documents/0123456789abcdef").status_code == 401
    listed = http.get("/api/documents", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    assert listed.status_code == 200 and listed.json()["total"] == 5


def test_an_upload_is_listed_and_answerable_and_bad_files_are_reported(http, app):
    response = upload(http, ("becas-condor-es.txt", GRANT_NOTE), ("virus.exe", b"MZ\x00\x01"), ("vacio.txt", b""))
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["added"], body["failed"]) == (1, 2)
    by_name = {f["filename"]: f for f in body["files"]}
    assert by_name["becas-condor-es.txt"]["status"] == "added"
    assert by_name["becas-condor-es.txt"]["language"] == "es"
    assert "unsupported" in by_name["virus.exe"]["reason"]
    assert by_name["vacio.txt"]["status"] == "failed" and by_name["vacio.txt"]["reason"]
    doc_id = by_name["becas-condor-es.txt"]["doc_id"]

    listed = http.get("/api/documents", headers=KEY).json()
    assert doc_id in {d["doc_id"] for d in listed["documents"]} and listed["total"] == 6
    uploads = app.store.parent / "store-uploads"
    assert sorted(p.name for p in uploads.iterdir() if not p.name.startswith(".")) == ["becas-condor-es.txt"]

    answer = http.post("/api/ask", json={"question": "¿Cuántas becas ofrece el Programa Cóndor?"}).json()
    assert answer["answered"] is True and "37" in answer["answer"]
    assert answer["sources"][0]["doc_id"] == doc_id
    assert http.get(f"/api/documents/{doc_id}/file").text.startswith("Programa Cóndor")


def test_all_files_failing_is_422_and_nothing_stored_is_lost(http, grant_note):
    before = http.get("/healthz").json()
    response = upload(http, ("becas-condor-es.txt", bytes(range(256)) * 8), ("notes.xyz", b"text"))
    assert response.status_code == 422
    assert response.json()["failed"] == 2
    assert http.get("/healthz").json() == before
    # the stored version of the re-uploaded file is untouched, on disk and in the index
    assert grant_note in {d["doc_id"] for d in listing(http)}
    assert http.get(f"/api/documents/{grant_note}/file").text.startswith("Programa Cóndor")


def test_unsafe_file_names_are_made_safe(http, app):
    response = upload(http, ("../../escape/../notas<script>.txt", b"Notas de prueba sobre cooperacion logistica."))
    assert response.status_code == 200, response.text
    stored_as = response.json()["files"][0]["stored_as"]
    assert "/" not in stored_as and "<" not in stored_as and not stored_as.startswith(".")
    assert (app.store.parent / "store-uploads" / stored_as).is_file()
    assert not (app.store.parent / "escape").exists()


def test_a_changed_file_uploaded_again_updates_its_document(http, grant_note):
    changed = GRANT_NOTE.replace(b"37 becas", b"41 becas")
    response = upload(http, ("becas-condor-es.txt", changed))
    assert response.status_code == 200, response.text
    assert response.json()["files"][0]["status"] == "updated"
    assert response.json()["files"][0]["doc_id"] == grant_note
    answer = http.post("/api/ask", json={"question": "¿Cuántas becas ofrece el Programa Cóndor?"}).json()
    assert "41" in answer["answer"] and "37" not in answer["answer"]


def test_an_upload_while_another_ingest_writes_is_409(http, app):
    from filelock import FileLock

    with FileLock(str(app.store / ".ingest.lock"), timeout=5):  # what `python -m ingest` holds while it writes
        response = upload(http, ("otra-nota-es.txt", b"Una nota breve sobre puertos y comercio."))
    assert response.status_code == 409
    assert "ingest" in response.json()["detail"]
    assert not (app.store.parent / "store-uploads" / "otra-nota-es.txt").exists()


def test_an_upload_over_the_size_limit_is_413(http):
    response = upload(http, ("big.txt", b"palabra " * 40_000))
    assert response.status_code == 413
    assert "MB" in response.json()["detail"]


def test_upload_needs_multipart_files(http):
    assert http.post("/api/documents", json={"files": []}, headers=KEY).status_code == 415
    empty_form = http.post("/api/documents", files={"note": (None, "no file")}, headers=KEY)
    assert empty_form.status_code == 422


def test_delete_removes_the_document_and_its_uploaded_file(http, app, grant_note):
    doc_id = grant_note
    assert (app.store.parent / "store-uploads" / "becas-condor-es.txt").exists()
    response = http.delete(f"/api/documents/{doc_id}", headers=KEY)
    assert response.status_code == 200
    assert response.json()["file_removed"] is True
    assert doc_id not in {d["doc_id"] for d in listing(http)}
    assert not (app.store.parent / "store-uploads" / "becas-condor-es.txt").exists()
    assert http.get(f"/api/documents/{doc_id}/file").status_code == 404
    assert http.delete(f"/api/documents/{doc_id}", headers=KEY).status_code == 404
    assert http.get("/healthz").json()["documents"] == 5


def test_too_many_questions_get_a_429_with_retry_after(http):
    """Cheap (invalid) questions from an address of its own (through the trusted proxy) until its limit is spent."""
    statuses = []
    headers = {"X-Session-Id": "rate-limit-test-1", **SPENDER}
    for _ in range(RATE_LIMIT + 1):
        response = http.post("/api/ask", json={"question": ""}, headers=headers)
        statuses.append(response.status_code)
    assert statuses == [422] * RATE_LIMIT + [429], statuses
    assert "too many" in response.json()["detail"]
    assert int(response.headers["retry-after"]) >= 1
    # another session id from the same address does not reset the per-IP limit
    other = http.post("/api/chat", json={"question": "hola"}, headers={"X-Session-Id": "rate-limit-test-2", **SPENDER})
    assert other.status_code == 429
    assert http.get("/healthz", headers=SPENDER).status_code == 200  # only the answering routes are limited
