"""Staff ingest over HTTP (`/api/documents`, admin key) and the rate limit, against one real server:
uploads are listed and answerable at once, bad files are reported without losing stored documents."""

from __future__ import annotations

import pytest
from web_fixtures import running_app

ADMIN_KEY = "staff-key-for-tests-0123456789"
KEY = {"X-API-Key": ADMIN_KEY}
RATE_LIMIT = 14  # per minute; the last test of this module uses up what the others left

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
                     rate_limit=f"{RATE_LIMIT}/minute") as server:
        yield server


@pytest.fixture(scope="module")
def http(app):
    with app.client() as client:
        yield client


def upload(http, *files: tuple[str, bytes], headers=KEY):
    return http.post("/api/documents", files=[("files", f) for f in files], headers=headers)


def test_staff_routes_need_the_admin_key(http):
    assert upload(http, ("a.txt", b"hello"), headers={}).status_code == 401
    assert upload(http, ("a.txt", b"hello"), headers={"X-API-Key": "wrong"}).status_code == 403
    assert http.get("/api/documents").status_code == 401
    assert http.get("/api/documents", headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert http.delete("/api/documents/0123456789abcdef").status_code == 401
    listing = http.get("/api/documents", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    assert listing.status_code == 200 and listing.json()["total"] == 5


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

    listing = http.get("/api/documents", headers=KEY).json()
    assert doc_id in {d["doc_id"] for d in listing["documents"]} and listing["total"] == 6
    uploads = app.store.parent / "store-uploads"
    assert sorted(p.name for p in uploads.iterdir() if not p.name.startswith(".")) == ["becas-condor-es.txt"]

    answer = http.post("/api/ask", json={"question": "¿Cuántas becas ofrece el Programa Cóndor?"}).json()
    assert answer["answered"] is True and "37" in answer["answer"]
    assert answer["sources"][0]["doc_id"] == doc_id
    assert http.get(f"/api/documents/{doc_id}/file").text.startswith("Programa Cóndor")


def test_all_files_failing_is_422_and_nothing_stored_is_lost(http):
    before = http.get("/healthz").json()
    response = upload(http, ("becas-condor-es.txt", bytes(range(256)) * 8), ("notes.xyz", b"text"))
    assert response.status_code == 422
    assert response.json()["failed"] == 2
    assert http.get("/healthz").json() == before
    # the stored version of the re-uploaded file is untouched, on disk and in the index
    listing = {d["title"]: d for d in http.get("/api/documents", headers=KEY).json()["documents"]}
    kept = listing["Programa Cóndor de becas portuarias"]
    assert http.get(f"/api/documents/{kept['doc_id']}/file").text.startswith("Programa Cóndor")


def test_unsafe_file_names_are_made_safe(http, app):
    response = upload(http, ("../../escape/../notas<script>.txt", b"Notas de prueba sobre cooperacion logistica."))
    assert response.status_code == 200, response.text
    stored_as = response.json()["files"][0]["stored_as"]
    assert "/" not in stored_as and "<" not in stored_as and not stored_as.startswith(".")
    assert (app.store.parent / "store-uploads" / stored_as).is_file()
    assert not (app.store.parent / "escape").exists()
    assert http.delete(f"/api/documents/{response.json()['files'][0]['doc_id']}", headers=KEY).status_code == 200


def test_a_changed_file_uploaded_again_updates_its_document(http):
    changed = GRANT_NOTE.replace(b"37 becas", b"41 becas")
    response = upload(http, ("becas-condor-es.txt", changed))
    assert response.status_code == 200, response.text
    assert response.json()["files"][0]["status"] == "updated"
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


def test_delete_removes_the_document_and_its_uploaded_file(http, app):
    listing = {d["title"]: d for d in http.get("/api/documents", headers=KEY).json()["documents"]}
    doc_id = listing["Programa Cóndor de becas portuarias"]["doc_id"]
    response = http.delete(f"/api/documents/{doc_id}", headers=KEY)
    assert response.status_code == 200
    assert response.json()["file_removed"] is True
    assert doc_id not in {d["doc_id"] for d in http.get("/api/documents", headers=KEY).json()["documents"]}
    assert not (app.store.parent / "store-uploads" / "becas-condor-es.txt").exists()
    assert http.get(f"/api/documents/{doc_id}/file").status_code == 404
    assert http.delete(f"/api/documents/{doc_id}", headers=KEY).status_code == 404
    assert http.get("/healthz").json()["documents"] == 5


def test_too_many_questions_get_a_429_with_retry_after(http):
    """Runs last: cheap (invalid) questions until the per-IP limit is spent."""
    statuses = []
    for _ in range(RATE_LIMIT + 1):
        response = http.post("/api/ask", json={"question": ""}, headers={"X-Session-Id": "rate-limit-test-1"})
        statuses.append(response.status_code)
        if response.status_code == 429:
            break
    assert statuses[-1] == 429, statuses
    assert "too many" in response.json()["detail"]
    assert int(response.headers["retry-after"]) >= 1
    # another session id from the same address does not reset the per-IP limit
    other = http.post("/api/chat", json={"question": "hola"}, headers={"X-Session-Id": "rate-limit-test-2"})
    assert other.status_code == 429
    assert http.get("/healthz").status_code == 200  # only the answering routes are limited
