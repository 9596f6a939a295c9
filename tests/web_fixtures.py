"""Helpers for the web tests: the real app in a subprocess on a free port, a static host site in a thread,
Chromium, and a Server-Sent Events parser. (These are plain functions; the browser tests' shared fixtures, the
`browser`, its pages and `save_screenshot`, are in conftest.py.)"""

from __future__ import annotations

import functools
import http.server
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from support import ROOT, free_port, stop_process, subprocess_env

APP_START_TIMEOUT_S = 180
APP_HOST = "127.0.0.1"
CHROMIUM = Path("/usr/bin/chromium")  # Debian's; `playwright install` cannot download a browser here
# The marks of a module of browser tests: slow, and skipped where Debian's chromium is not installed.
BROWSER_TEST = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium "
                       "(apt-get install -y chromium)"),
]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


@dataclass
class AppServer:
    base_url: str
    port: int
    store: Path
    log_path: Path
    process: subprocess.Popen
    startup_s: float

    def client(self, **kwargs) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=60, trust_env=False, **kwargs)

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-chars:]


def _wait_healthy(server: AppServer, deadline: float) -> None:
    with httpx.Client(timeout=2, trust_env=False) as http:
        while True:
            if server.process.poll() is not None:
                raise RuntimeError(f"app.py exited with {server.process.returncode}:\n{server.log_tail()}")
            try:
                # warm: answers checked by a test must not depend on whether the lexical index was built yet
                health = http.get(f"{server.base_url}/healthz")
                if health.status_code == 200 and health.json().get("warm"):
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"app.py was not healthy and warm (/healthz) within {APP_START_TIMEOUT_S} s:\n{server.log_tail()}"
                )
            time.sleep(0.2)


@contextmanager
def running_app(folder: Path, **settings: object) -> Iterator[AppServer]:
    """`python app.py --store folder/store --port FREE` with FORUMQA_<NAME> settings; stopped on exit.

    Lists and dicts are passed as JSON (pydantic-settings reads complex values that way)."""
    store, port = folder / "store", free_port()
    env = subprocess_env(None, **{k: json.dumps(v) if isinstance(v, list | dict) else v for k, v in settings.items()})
    env["GRADIO_TEMP_DIR"] = str(folder / "gradio-tmp")
    log_path = folder / "app.log"
    started = time.monotonic()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py"), "--store", str(store), "--host", APP_HOST, "--port", str(port)],
            cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,  # no `.env`
        )
        server = AppServer(f"http://{APP_HOST}:{port}", port, store, log_path, process, 0.0)
        try:
            _wait_healthy(server, started + APP_START_TIMEOUT_S)
            server.startup_s = time.monotonic() - started
            yield server
        finally:
            stop_process(process, timeout=15)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the stdlib's parameter name
        pass


@contextmanager
def static_site(folder: Path) -> Iterator[str]:
    """Serves `folder` over HTTP on 127.0.0.1:FREE in a thread; yields its origin (http://127.0.0.1:PORT)."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer((APP_HOST, free_port()), handler)
    thread = threading.Thread(target=httpd.serve_forever, name="static-site", daemon=True)
    thread.start()
    try:
        yield f"http://{APP_HOST}:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@contextmanager
def launched_chromium() -> Iterator[object]:
    """A headless Chromium (playwright's Browser), closed on exit."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def offline_page(browser, attempts: list[str], **context_options):
    """A page whose every request off 127.0.0.1 is aborted and recorded in `attempts`: what a visitor without
    internet access sees."""
    from urllib.parse import urlsplit

    context = browser.new_context(**context_options)

    def only_local(route) -> None:
        if urlsplit(route.request.url).hostname == APP_HOST:
            route.continue_()
        else:
            attempts.append(route.request.url)
            route.abort("internetdisconnected")

    context.route("**/*", only_local)
    return context.new_page()


def wait_for_widget_replies(page, replies: int, timeout_ms: int = 60_000) -> None:
    """Until `replies` answers or errors follow the widget's welcome message and it takes questions again (the
    send button is enabled only once a whole answer has streamed; a question typed before would be ignored)."""
    page.wait_for_function(
        "n => { const root = document.querySelector('[data-forumqa-widget]').shadowRoot;"
        " return root.querySelectorAll('.msg.bot:not(.pending), .msg.error').length > n"
        " && !root.querySelector('button.send').disabled; }",
        arg=replies, timeout=timeout_ms,
    )


def parse_sse(body: str) -> list[tuple[str, object]]:
    """[(event name, parsed JSON data)] from a text/event-stream body."""
    events = []
    for block in body.replace("\r\n", "\n").split("\n\n"):
        name, data = "message", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
        if data:
            events.append((name, json.loads("\n".join(data))))
    return events
