"""Evidence one click away, in process: every source's url opens the viewer (/view/{id}) with the passages the
answer quoted from it; the viewer shows the stored text once (chunk overlaps removed), escaped, with those passages
in <mark>, PDF pages numbered; a PDF source's url names its page (#page=N)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from fixtures_builders import ES_INVESTMENT, write_pdf, write_txt
from support import ROOT, build_settings

from bot import Answer, Source
from bot.citations import quoted_passages
from ingest.chunking import make_splitter
from ingest.pipeline import ingest_paths
from store import Chunk, open_index
from store.embedders import FakeEmbeddings
from web.passages import readable_passages
from web.server import create_app
from web.viewer import evidence_url, link_sources

PORT_SENTENCE = "El grupo de trabajo está coordinado por la ingeniera Lucía Paredes Huamán y se reúne cada dos meses."
HOSTILE = "Informe <b>hostil</b>\n\n<script>alert('x')</script> Un texto con <img src=x onerror=alert(1)> dentro."
PDF_PAGES = [["Informe portuario de prueba", "Primera página sin cifras."],
             ["El puerto de Chancay movió 1,2 millones de contenedores en 2025.", "Fin del informe."]]


def test_an_answers_quotes_are_found_per_source():
    answer = ("Según los documentos:\n\n“Primera cita.” [1]\n“Segunda cita, larga.” [2]\n"
              "「第三」【1, 2】 y una frase sin comillas [1].")
    assert quoted_passages(answer, 1) == ["Primera cita.", "第三"]
    assert quoted_passages(answer, 2) == ["Segunda cita, larga.", "第三"]
    assert quoted_passages(answer, 3) == []


def test_chunks_are_joined_back_into_the_text_without_their_overlaps():
    text = " ".join(f"Port {n} moved {n * 7} ships in May." for n in range(60)) + "\n\n" + ES_INVESTMENT
    pieces = make_splitter(160, 60, 1.5).split_text(text)
    assert len(pieces) > 8 and sum(map(len, pieces)) > len(text) + 100  # they do overlap
    chunks = [Chunk(p, {"section": "S", "page": None}) for p in pieces]
    [passage] = readable_passages(chunks)
    assert " ".join(passage.text.split()) == " ".join(text.split())


def test_a_source_links_to_its_quotes_else_its_snippet_and_a_pdf_source_to_its_page():
    cited = Source(1, "a.md", "A", "es", "…el grupo… ", 0.9, doc_id="0123456789abcdef")
    pdf = Source(0, "b.pdf", "B", "es", "El puerto de Chancay…", 0.5, doc_id="fedcba9876543210", page=2)
    answer = link_sources(Answer("q", f"“{PORT_SENTENCE}” [1]", "es", True, [cited], [pdf]))
    url = urlsplit(answer.sources[0].url)
    assert url.path == "/view/0123456789abcdef" and parse_qs(url.query)["q"] == [PORT_SENTENCE]
    pdf_url = urlsplit(answer.also_retrieved[0].url)
    assert parse_qs(pdf_url.query)["q"] == ["El puerto de Chancay"] and pdf_url.fragment == "page=2"
    assert evidence_url("../etc/passwd", ["x"]) == ""


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    folder = tmp_path_factory.mktemp("app-viewer")
    settings = build_settings(folder, embedder="fake", answerer="fake", rate_limit="1000/minute")
    reports = folder / "reports"
    write_txt(reports / "hostil.txt", HOSTILE)
    write_pdf(reports / "puerto.pdf", PDF_PAGES, title="Informe portuario")
    ingest_paths([ROOT / "data" / "sample", reports], open_index(settings, FakeEmbeddings()), settings)
    return create_app(settings)


def doc_id_of(http, name: str) -> str:
    answer = http.post("/api/ask", json={"question": "puerto Chancay contenedores grupo de trabajo hostil"}).json()
    for source in answer["sources"] + answer["also_retrieved"]:
        if source["source"] == name:
            assert source["url"].startswith(f"/view/{source['doc_id']}")
            return source["doc_id"]
    raise AssertionError(f"{name} not among the sources: {answer}")


def test_the_viewer_marks_the_quoted_sentence_in_the_documents_text(http):
    doc_id = doc_id_of(http, "puertos-logistica-es.txt")
    response = http.get(evidence_url(doc_id, [PORT_SENTENCE]))
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert f"<mark>{PORT_SENTENCE}</mark>" in response.text
    assert response.text.count("<mark>") == 1
    assert "Nota sobre cooperación portuaria" in response.text and 'lang="es"' in response.text
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'sha256-" in csp and "unsafe-inline" not in csp


def test_the_viewer_escapes_the_document_and_the_quotes(http):
    doc_id = doc_id_of(http, "hostil.txt")
    response = http.get(evidence_url(doc_id, ["<script>alert('x')</script>", "</mark><b>q</b>"]))
    assert response.status_code == 200
    page = response.text
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page and "<script>alert" not in page
    assert "<img" not in page and "<b>" not in page and page.count("<script>") == 1  # the viewer's own
    assert page.count("<mark>") == 1  # the quote found; the one that is not in the text marks nothing


def test_the_viewer_numbers_pdf_pages_and_marks_the_passage_on_its_page(http):
    doc_id = doc_id_of(http, "puerto.pdf")
    page = http.get(evidence_url(doc_id, ["movió 1,2 millones de contenedores"], 2)).text
    assert 'data-page="1"' in page and 'data-page="2"' in page
    assert page.index('data-page="2"') < page.index("<mark>movió 1,2 millones de contenedores</mark>")
    assert "<title>Informe portuario</title>" in page


def test_an_unknown_document_is_404(http):
    for doc_id in ("ffffffffffffffff", "not-an-id", "..%2F..%2Fsettings.py"):
        assert http.get(f"/view/{doc_id}").status_code == 404, doc_id
