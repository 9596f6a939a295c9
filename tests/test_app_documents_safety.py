"""Documents over real HTTP, as an attacker or an unlucky operator would meet them: served files run no active
content, public answers carry no server paths, colliding upload names never replace each other, an app killed
mid-upload leaves nothing behind, a lone surrogate is a 4xx, and a delete or an upload through one app is seen
at once by another app on the same Chroma server."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import httpx
import pytest
from fixtures_builders import pdf_bytes
from support import ROOT, subprocess_env
from web_fixtures import running_app

ADMIN_KEY = "safety-admin-key-0123456789abcdef"
KEY = {"X-API-Key": ADMIN_KEY}
TRADE_QUESTION = "¿Cuánto alcanzó el comercio entre China y América Latina en 2024?"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    with running_app(tmp_path_factory.mktemp("app-safety"), embedder="fake", admin_api_key=ADMIN_KEY,
                     rate_limit="100000/minute") as server:
        yield server


def upload(http: httpx.Client, name: str, data: bytes) -> dict:
    response = http.post("/api/documents", files=[("files", (name, data))], headers=KEY)
    assert response.status_code == 200, response.text
    return response.json()["files"][0]


def test_served_documents_run_no_active_content(http):
    pdf = upload(http, "openaction.pdf", pdf_bytes([["A report page with an /OpenAction script."]], title="Doc"))
    page = upload(http, "page.html", b"<html><body><script>alert(1)</script><p>Report text.</p></body></html>")
    for item in (pdf, page):
        response = http.get(f"/api/documents/{item['doc_id']}/file")
        assert response.status_code == 200
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in response.headers["content-security-policy"]
    assert http.get(f"/api/documents/{pdf['doc_id']}/file").headers["content-disposition"].startswith("attachment")
    assert http.get(f"/api/documents/{page['doc_id']}/file").headers["content-type"].startswith("text/plain")


def test_public_answers_name_sources_by_file_with_a_link_never_a_server_path(http, app):
    answer = http.post("/api/ask", json={"question": TRADE_QUESTION}).json()
    sources = answer["sources"] + answer["also_retrieved"]
    assert sources
    for source in sources:
        assert "/" not in source["source"] and str(app.store.parent) not in source["source"], source
        assert source["url"].startswith(f"/view/{source['doc_id']}?q="), source["url"]
        viewed = http.get(source["url"])
        assert viewed.status_code == 200 and f"/api/documents/{source['doc_id']}/file" in viewed.text
    with http.stream("POST", "/api/chat", json={"question": TRADE_QUESTION}) as response:
        body = response.read().decode()
    assert str(app.store.parent) not in body and "/work/" not in body and '"url": "/view/' in body


def test_names_that_sanitise_alike_get_distinct_stored_files(http, app):
    first = upload(http, "informe final.txt", b"Primer informe: el puerto recibe 11 barcos por semana.")
    second = upload(http, "informe_final.txt", b"Segundo informe: el aeropuerto recibe 29 vuelos por semana.")
    third = upload(http, "informe[final].txt", b"Tercer informe: la estacion recibe 43 trenes por semana.")
    names = {first["stored_as"], second["stored_as"], third["stored_as"]}
    assert len(names) == 3, names
    assert all(f["status"] == "added" for f in (first, second, third))
    listed = {d["doc_id"] for d in http.get("/api/documents", headers=KEY).json()["documents"]}
    assert {first["doc_id"], second["doc_id"], third["doc_id"]} <= listed
    uploads = app.store.parent / "store-uploads"
    assert "11 barcos" in (uploads / first["stored_as"]).read_text()
    assert "29 vuelos" in (uploads / second["stored_as"]).read_text()
    again = upload(http, "informe final.txt", b"Primer informe: el puerto recibe 12 barcos por semana.")
    assert (again["stored_as"], again["status"]) == (first["stored_as"], "updated")  # the same name updates


def test_a_file_stored_before_names_got_their_hash_is_updated_not_duplicated(http, app):
    uploads = app.store.parent / "store-uploads"
    uploads.mkdir(exist_ok=True)
    (uploads / "acta_de_la_reunion.txt").write_bytes(b"Acta antigua: el muelle recibe 5 barcos por semana.")
    ingested = subprocess.run([sys.executable, "-m", "ingest", str(uploads / "acta_de_la_reunion.txt")],
                              cwd=ROOT, env=subprocess_env(app.store, embedder="fake"), capture_output=True,
                              text=True, timeout=300)
    assert ingested.returncode == 0, ingested.stderr
    listed = {d["doc_id"] for d in http.get("/api/documents", headers=KEY).json()["documents"]}
    first = upload(http, "acta de la reunion.txt", b"Acta nueva: el muelle recibe 6 barcos por semana.")
    second = upload(http, "acta de la reunion.txt", b"Acta corregida: el muelle recibe 7 barcos por semana.")
    assert first["stored_as"] == second["stored_as"] == "acta_de_la_reunion.txt"
    assert (first["status"], second["status"]) == ("updated", "updated")
    after = {d["doc_id"] for d in http.get("/api/documents", headers=KEY).json()["documents"]}
    assert after == listed and first["doc_id"] == second["doc_id"] in listed
    assert sorted(p.name for p in uploads.glob("acta*")) == ["acta_de_la_reunion.txt"]
    assert "7 barcos" in (uploads / "acta_de_la_reunion.txt").read_text()


@pytest.mark.parametrize("route", ["/api/ask", "/api/chat"])
def test_a_lone_surrogate_is_a_clear_4xx(http, route):
    for body in ('{"question": "\\ud800"}', '{"question": "hola \\udfff mundo"}',
                 '{"question": "hola", "history": [{"role": "user", "content": "\\ud800"}]}'):
        response = http.post(route, content=body, headers={"Content-Type": "application/json"})
        assert 400 <= response.status_code < 500, (body, response.status_code, response.text)
        assert response.json()["detail"]


def test_an_app_killed_mid_upload_leaves_nothing_staged_after_its_restart(tmp_path):
    settings = {"embedder": "fake", "admin_api_key": ADMIN_KEY, "file_timeout_s": 120, "max_upload_mb": 3}
    slow = b"<html><body>" + b"<p>x</p>" * 300_000 + b"</body></html>"  # parsed for many seconds
    with running_app(tmp_path, **settings) as app:
        uploads = app.store.parent / "store-uploads"

        def send() -> None:
            try:
                with app.client() as http:
                    http.post("/api/documents", files=[("files", ("lento.html", slow))], headers=KEY)
            except httpx.HTTPError:
                pass

        threading.Thread(target=send, daemon=True).start()
        deadline = time.monotonic() + 30
        while not any(p.is_file() for p in uploads.rglob("*")) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # saved; now parsing
        assert any(p.is_file() for p in uploads.rglob("*")), "the upload never reached the disk"
        app.process.kill()
        app.process.wait()
    with running_app(tmp_path, **settings) as app, app.client() as http:
        assert not [p for p in uploads.rglob("*") if p.is_file()], "files left from the killed upload"
        assert http.get("/api/documents", headers=KEY).json()["total"] == 5


NOTE = ("Nota sobre el puerto de Chancay\n\nEl puerto de Chancay recibió diecisiete grúas nuevas en 2025, según "
        "esta nota ficticia sobre grúas portuarias.\n").encode()
NOTE_QUESTION = "¿Cuántas grúas nuevas recibió el puerto de Chancay?"


def cited(http: httpx.Client, question: str) -> list[str]:
    """The documents an answer names, the cited ones first."""
    answer = http.post("/api/ask", json={"question": question})
    assert answer.status_code == 200, answer.text
    return [s["doc_id"] for s in answer.json()["sources"] + answer.json()["also_retrieved"]]


@pytest.mark.chroma_server
def test_a_change_through_one_app_is_seen_by_another_on_its_next_question(tmp_path, chroma_server):
    """A deleted document is not cited by the other app's next question. That much holds even with a stale
    registry: the chunks leave the shared server before the delete answers, and every candidate comes from a
    search there. What the other app's registry cache (kept for seconds) does get wrong without the commit marker
    is a document committed meanwhile: its chunks are found and then dropped as uncommitted. So the other app
    reads its registry just before an upload (its cache is then as fresh as a cache can be, and its lexical index
    matches it, so nothing else re-reads the registry), and asks the moment the upload answers: no wait, no retry.
    Without the marker check (the previous main) the uploaded note is not among the documents named."""
    shared = {"embedder": "fake", "chroma_host": chroma_server.host, "chroma_port": chroma_server.port,
              "admin_api_key": ADMIN_KEY, "rate_limit": "100000/minute"}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with running_app(tmp_path / "a", **shared) as first, running_app(tmp_path / "b", **shared) as second, \
            first.client() as http_a, second.client() as http_b:
        doc_id = cited(http_b, TRADE_QUESTION)[0]
        assert http_a.delete(f"/api/documents/{doc_id}", headers=KEY).status_code == 200
        assert doc_id not in cited(http_b, TRADE_QUESTION)

        assert upload(http_a, "otra.txt", b"Una nota breve sobre otro tema.\n")["status"] == "added"  # warms parsing
        assert http_b.get("/api/documents", headers=KEY).status_code == 200  # B reads its registry afresh...
        cited(http_b, TRADE_QUESTION)  # ...and a question rebuilds its lexical index from it, in the background
        time.sleep(1.0)
        assert http_b.get("/api/documents", headers=KEY).status_code == 200
        started = time.monotonic()
        note = upload(http_a, "gruas.txt", NOTE)
        assert note["status"] == "added", note
        found = cited(http_b, NOTE_QUESTION)
        elapsed = time.monotonic() - started
        assert note["doc_id"] in found, f"not cited {elapsed:.2f} s after the upload began (B's registry read then)"
        assert http_a.delete(f"/api/documents/{note['doc_id']}", headers=KEY).status_code == 200
        assert note["doc_id"] not in cited(http_b, NOTE_QUESTION)
