"""The API docs work offline: /docs (Swagger UI) loads its script, styles and icon from the app, so with every
request off 127.0.0.1 blocked a headless Chromium still renders the operations, and none was attempted."""

from __future__ import annotations

import pytest
from web_fixtures import BROWSER_TEST, offline_page, running_app

pytestmark = BROWSER_TEST


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    with running_app(tmp_path_factory.mktemp("app-docs"), embedder="fake", answerer="fake") as server:
        yield server


def test_swagger_ui_renders_the_operations_with_the_network_blocked(app, browser):
    attempts: list[str] = []
    page = offline_page(browser, attempts)
    page.goto(f"{app.base_url}/docs")
    operation = page.locator(".opblock-summary-path", has_text="/api/ask").first
    operation.wait_for(timeout=30_000)
    assert operation.is_visible()
    assert page.locator(".opblock-summary-path", has_text="/api/documents").count() >= 1
    assert page.locator(".swagger-ui .info .title").inner_text().startswith("Forum reports QA")
    assert attempts == []  # nothing was asked of a CDN, not even a favicon

