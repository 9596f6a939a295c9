"""Collections in a real headless Chromium (issue 13's acceptance): one app over a store with two collections, a
host site embedding the widget with data-collection=alpha. Whatever it is asked (even beta's own words), the widget
never cites a document of beta, and its source links open alpha's documents; it offers alpha's own starter
question; a page of that site asking beta, which the site is not allowed to ask, gets the "not allowed" error."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from fixtures_builders import write_txt
from support import CLI_TIMEOUT_S, subprocess_env
from web_fixtures import BROWSER_TEST, running_app, wait_for_widget_replies

pytestmark = BROWSER_TEST

ANSWER_TIMEOUT_MS = 60_000
REPORTS = {
    "alpha": {"alpha-lima.txt": "Alpha Forum in Lima\n\nThe alpha forum met in Lima in 2024. It discussed copper "
                                "mining, smelters and the Andean railway.\n",
              "alpha-cusco.txt": "Alpha Forum workshop in Cusco\n\nThe alpha forum held a workshop in Cusco about "
                                 "tourism, heritage sites and the forum's next meeting.\n"},
    "beta": {"beta-quito.txt": "Beta Forum in Quito\n\nThe beta forum met in Quito in 2025. It discussed fisheries, "
                               "ports and the Pacific shipping lanes.\n",
             "beta-guayaquil.txt": "Beta Forum port visit in Guayaquil\n\nThe beta forum visited the port of "
                                   "Guayaquil, where the forum discussed fisheries and shipping.\n"},
}
ALPHA_TITLES = {text.split("\n", 1)[0] for text in REPORTS["alpha"].values()}
BETA_TITLES = {text.split("\n", 1)[0] for text in REPORTS["beta"].values()}
QUESTIONS = ["Where did the forum meet?", "What did the beta forum discuss about fisheries in Quito?",
             "Which ports and shipping lanes were discussed?"]
STARTER = "Where did the alpha forum meet?"
HOST_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{name} forum</title></head>
<body><h1>The {name} forum</h1>
<script src="{app}/widget.js" defer data-collection="{name}"></script>
</body></html>
"""


def ingest_collections(folder) -> None:
    """The two collections, written by the CLI as staff would (the fake embedder, as the app uses)."""
    for name, files in REPORTS.items():
        paths = [str(write_txt(folder / "reports" / name / file, text)) for file, text in files.items()]
        result = subprocess.run(
            [sys.executable, "-m", "ingest", "--collection", name, *paths], cwd=folder, capture_output=True,
            text=True, env=subprocess_env(folder / "store", embedder="fake"), timeout=CLI_TIMEOUT_S,
        )
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def app(tmp_path_factory, host_site):
    root, origin = host_site
    folder = tmp_path_factory.mktemp("app-collections")
    ingest_collections(folder)
    collections = {"alpha": {"allowed_origins": [origin], "starter_questions": {"en": [STARTER]}}}
    with running_app(folder, embedder="fake", answerer="fake", collections=collections) as server:
        for name in ("alpha", "beta"):
            (root / f"{name}.html").write_text(HOST_PAGE.format(name=name, app=server.base_url), encoding="utf-8")
        yield server


def test_a_widget_of_collection_alpha_never_cites_a_document_of_beta(app, host_site, page, save_screenshot):
    _, origin = host_site
    sent = []
    page.on("request", lambda r: sent.append(json.loads(r.post_data)) if r.url.endswith("/api/chat") else None)
    page.goto(f"{origin}/alpha.html")
    page.locator(".launcher").click()
    page.locator(".starter", has_text=STARTER).click()  # alpha's own starter question
    wait_for_widget_replies(page, 1, ANSWER_TIMEOUT_MS)
    for asked, question in enumerate(QUESTIONS, start=2):
        box = page.locator("textarea")
        box.fill(question)
        box.press("Enter")
        wait_for_widget_replies(page, asked, ANSWER_TIMEOUT_MS)
    assert page.locator(".msg.error").count() == 0
    assert [body.get("collection") for body in sent] == ["alpha"] * (len(QUESTIONS) + 1)

    links = page.locator(".msg.bot .sources a")
    cited = set(links.all_text_contents())  # the collapsed "also found" ones too
    assert cited and cited <= ALPHA_TITLES and not cited & BETA_TITLES, cited
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert all(f"{app.base_url}/view/" in href and "collection=alpha" in href for href in hrefs)
    save_screenshot(page, "widget-collection-alpha")

    viewer = page.context.new_page()  # a source opens alpha's document
    viewer.goto(hrefs[0])
    assert viewer.locator("h1").inner_text() in ALPHA_TITLES
    viewer.close()


def test_a_site_allowed_for_alpha_only_cannot_ask_beta(app, host_site, page):
    _, origin = host_site
    page.goto(f"{origin}/beta.html")
    page.locator(".launcher").click()
    assert page.locator(".starter").all_inner_texts() != [STARTER]  # beta has the deployment's starters
    box = page.locator("textarea")
    box.fill(QUESTIONS[1])
    box.press("Enter")
    error = page.locator(".msg.error")
    error.wait_for(timeout=ANSWER_TIMEOUT_MS)
    assert error.inner_text() == "This website is not allowed to use the assistant."
    assert page.locator(".sources").count() == 0
