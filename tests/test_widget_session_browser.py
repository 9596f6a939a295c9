"""The widget remembers and invites, in a real headless Chromium against a fake assistant (no app to start): the
conversation survives a reload and a second page of the site, and is sent back as history; "new conversation"
clears it; a starter question in the page's language gets an answer; a screen reader hears each answer once,
whole; the keyboard reaches everything; axe-core finds no serious or critical violation."""

from __future__ import annotations

import json

import pytest
from web_fixtures import BROWSER_TEST

from settings import Settings
from web.ui_text import widget_text
from web.widget import widget_source

ASSISTANT = "http://assistant.test"  # both origins are answered by the routes below, never by a network
SITE = "http://forum-site.test"
ANSWER = "El comercio alcanzó 518,47 mil millones de dólares [1]."
TIMEOUT_MS = 30_000

pytestmark = BROWSER_TEST

PAGE = """<!doctype html>
<html lang="es"><head><meta charset="utf-8"><title>{heading}</title></head>
<body><main><h1>{heading}</h1><p><a href="/index.html">Inicio</a> · <a href="/about.html">Acerca de</a></p></main>
<script src="{assistant}/widget.js" defer></script></body></html>
"""


def answer_events(text: str) -> str:
    """/api/chat's stream for one answer, its text in three token events."""
    source = {"n": 1, "source": "forum-2025-es.md", "title": "Informe del foro", "language": "es",
              "snippet": "El comercio…", "url": "/view/0123456789abcdef?q=comercio"}
    final = {"answer": text, "language": "es", "answered": True, "sources": [source], "also_retrieved": []}
    thirds = [text[: len(text) // 3], text[len(text) // 3: 2 * len(text) // 3], text[2 * len(text) // 3:]]
    tokens = "".join(f"event: token\ndata: {json.dumps({'text': part})}\n\n" for part in thirds)
    return tokens + f"event: final\ndata: {json.dumps(final)}\n\n"


@pytest.fixture
def site(browser):
    """A browser context where SITE serves two pages with the widget and ASSISTANT serves /widget.js as the app
    does and answers every question with ANSWER; yields (context, the JSON bodies sent to /api/chat)."""
    context = browser.new_context(viewport={"width": 1000, "height": 760}, locale="es-ES")
    asked: list[dict] = []
    script = widget_source(Settings(_env_file=None))

    def serve_site(route):
        heading = "Acerca del foro" if route.request.url.endswith("/about.html") else "Sitio del foro"
        route.fulfill(status=200, content_type="text/html; charset=utf-8",
                      body=PAGE.format(heading=heading, assistant=ASSISTANT))

    def serve_assistant(route):
        if route.request.url.endswith("/widget.js"):
            route.fulfill(status=200, content_type="text/javascript; charset=utf-8", body=script)
        elif route.request.url.endswith("/api/chat") and route.request.method == "POST":
            asked.append(route.request.post_data_json)
            route.fulfill(status=200, body=answer_events(ANSWER), headers={
                "Content-Type": "text/event-stream", "Access-Control-Allow-Origin": SITE})
        else:
            route.fulfill(status=404, body="")

    context.route(f"{SITE}/**", serve_site)
    context.route(f"{ASSISTANT}/**", serve_assistant)
    yield context, asked
    context.close()


def ask_widget(page, question: str) -> None:
    box = page.locator("textarea")
    box.fill(question)
    box.press("Enter")


def wait_for_answers(page, count: int) -> None:
    """Until `count` answers are shown whole (with their sources) and the widget takes questions again."""
    page.wait_for_function(
        "n => { const root = document.querySelector('[data-forumqa-widget]').shadowRoot;"
        " return root.querySelectorAll('.msg.bot .sources').length === n"
        " && !root.querySelector('button.send').disabled; }",
        arg=count, timeout=TIMEOUT_MS,
    )


def shown_questions(page) -> list[str]:
    page.locator("[data-forumqa-widget]").wait_for(state="attached")
    return page.locator(".msg.user").all_inner_texts()


def test_the_conversation_survives_a_reload_and_a_second_page_until_a_new_one(site):
    context, asked = site
    page = context.new_page()
    page.goto(f"{SITE}/index.html")
    page.locator(".launcher").click()
    first, second = "¿Cuánto alcanzó el comercio en 2024?", "¿Y la inversión?"
    ask_widget(page, first)
    wait_for_answers(page, 1)

    page.reload()
    page.locator(".msg.bot .sources").first.wait_for(timeout=TIMEOUT_MS)  # open as it was, the answer restored
    assert shown_questions(page) == [first]
    assert ANSWER in page.locator(".msg.bot .text").last.inner_text()
    assert page.locator(".sources li a").first.get_attribute("href").startswith(f"{ASSISTANT}/view/")
    ask_widget(page, second)
    wait_for_answers(page, 2)
    assert asked[-1]["history"] == [{"role": "user", "content": first}, {"role": "assistant", "content": ANSWER}]

    page.locator("main a", has_text="Acerca de").click()
    page.wait_for_url(f"{SITE}/about.html")
    page.locator(".msg.bot .sources").nth(1).wait_for(timeout=TIMEOUT_MS)
    assert shown_questions(page) == [first, second]

    other_tab = context.new_page()  # sessionStorage is per tab: another tab starts afresh
    other_tab.goto(f"{SITE}/about.html")
    other_tab.locator(".launcher").click()
    assert shown_questions(other_tab) == []

    page.locator("button.new").click()
    assert shown_questions(page) == []
    assert page.locator(".starter").count() == 3  # the empty conversation invites again
    page.reload()
    page.locator(".starter").first.wait_for(timeout=TIMEOUT_MS)
    assert shown_questions(page) == []
    ask_widget(page, second)
    wait_for_answers(page, 1)
    assert asked[-1]["history"] == []


def test_a_starter_question_in_the_pages_language_gets_an_answer(site):
    context, asked = site
    page = context.new_page()
    page.goto(f"{SITE}/index.html")
    page.locator(".launcher").click()
    starters = Settings(_env_file=None).starter_questions["es"]  # <html lang="es">
    assert page.locator(".starter").all_inner_texts() == starters
    page.locator(".starter").first.click()
    wait_for_answers(page, 1)
    assert asked[-1]["question"] == starters[0]
    assert shown_questions(page) == [starters[0]]
    assert ANSWER in page.locator(".msg.bot .text").last.inner_text()
    assert page.locator(".starter").count() == 0


def test_answers_are_announced_whole_the_keyboard_reaches_everything_and_axe_finds_nothing_serious(
        site, save_screenshot):
    from axe_playwright_python.sync_playwright import Axe

    context, asked = site
    page = context.new_page()
    page.goto(f"{SITE}/index.html")
    page.locator("[data-forumqa-widget]").wait_for(state="attached")
    active = "() => { const root = document.querySelector('[data-forumqa-widget]').shadowRoot;" \
             " const a = root.activeElement; return a ? (a.className || a.tagName.toLowerCase()) : ''; }"

    page.keyboard.press("Tab")  # the page's two links, then the widget's launcher
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate(active) == "launcher"
    page.keyboard.press("Enter")
    assert page.evaluate(active) == "textarea"  # opening puts the visitor in the question box
    # Every text the status region (the only live one) takes: the whole answer, never a streamed part of it.
    page.evaluate("() => { const root = document.querySelector('[data-forumqa-widget]').shadowRoot;"
                  " const live = root.querySelector('[aria-live=polite]'); window.__announced = [];"
                  " new MutationObserver(() => window.__announced.push(live.textContent))"
                  ".observe(live, {childList: true, characterData: true, subtree: true}); }")
    page.keyboard.type("¿Cuánto alcanzó el comercio?")
    page.keyboard.press("Enter")
    wait_for_answers(page, 1)
    assert asked[-1]["question"] == "¿Cuánto alcanzó el comercio?"
    announced = [text for text in page.evaluate("window.__announced") if text]
    assert announced[-1] == ANSWER and set(announced) <= {widget_text("es")["thinking"], ANSWER}, announced
    assert page.locator("[aria-live=polite]").count() == 1
    assert page.locator(".log").get_attribute("aria-live") == "off"

    reached, outlined = set(), set()
    for _ in range(12):
        page.keyboard.press("Tab")
        name = page.evaluate(active)
        reached.add(name)
        if page.evaluate("() => { const a = document.querySelector('[data-forumqa-widget]').shadowRoot.activeElement;"
                         " return !!a && getComputedStyle(a).outlineStyle !== 'none'; }"):
            outlined.add(name)
    assert {"new", "close", "log", "textarea", "send", "launcher"} <= reached, reached
    assert {"new", "close", "log", "send", "launcher"} <= outlined, outlined  # a visible focus ring
    page.locator("textarea").focus()

    results = Axe().run(page)
    serious = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert not serious, results.generate_report()
    save_screenshot(page, "widget-session-answer")
    print(f"axe: {results.violations_count} violations (none serious), {len(results.response['passes'])} rules "
          "passed")
