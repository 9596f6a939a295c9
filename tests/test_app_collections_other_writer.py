"""Several collections open in one app process over one embedded store, while an ingest CLI process writes one of
them: the app reopens that collection's store to see the new document, and the others go on answering."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest
from fastapi.testclient import TestClient
from fixtures_builders import write_txt
from support import CLI_TIMEOUT_S, build_settings, subprocess_env

from ingest.pipeline import ingest_paths
from store import open_index
from store.collections import collection_settings
from web.server import create_app

pytestmark = pytest.mark.slow  # ingest CLI processes beside the app

QUESTION = "Where did the forum meet and what did it discuss?"
REPORTS = {
    "alpha": ("Alpha Forum in Lima", "The alpha forum met in Lima in 2024. It discussed copper mining."),
    "beta": ("Beta Forum in Quito", "The beta forum met in Quito in 2025. It discussed fisheries and ports."),
}
# Written by ingest processes while the app answers: alpha's first, then beta's too (both reopen at once).
ADDED = [("alpha", f"Alpha Forum session {n}", f"The alpha forum's session {n} met in Arequipa to discuss railways.")
         for n in range(1, 4)] + [("beta", "Beta Forum session 2", "The beta forum's session 2 met in Guayaquil.")]


def titles(answer: dict) -> set[str]:
    return {s["title"] for s in answer["sources"] + answer["also_retrieved"]}


def test_an_ingest_into_one_collection_beside_the_app_disturbs_no_other(tmp_path):
    settings = build_settings(tmp_path, embedder="fake", answerer="fake", rate_limit="100000/minute",
                              sample_dir=tmp_path / "no-sample")
    for name, (title, text) in REPORTS.items():
        own = collection_settings(settings, name)
        report = ingest_paths([write_txt(tmp_path / "reports" / name / f"{name}.txt", f"{title}\n\n{text}\n")],
                              open_index(own), own)
        assert not report.failed
    http = TestClient(create_app(settings))

    def ask(collection: str) -> dict:
        response = http.post("/api/ask", json={"question": QUESTION, "collection": collection})
        assert response.status_code == 200, (collection, response.text)
        return response.json()

    assert titles(ask("alpha")) == {REPORTS["alpha"][0]} and titles(ask("beta")) == {REPORTS["beta"][0]}

    failures: list[str] = []
    done = threading.Event()

    def keep_asking(collection: str) -> None:
        while not done.is_set():
            try:
                answer = ask(collection)
                assert titles(answer) and all(t.lower().startswith(collection) for t in titles(answer)), answer
            except BaseException as exc:  # noqa: BLE001 - reported below, with the rest
                failures.append(f"{collection}: {type(exc).__name__}: {exc}")

    askers = [threading.Thread(target=keep_asking, args=(name,)) for name in ("beta", "beta", "alpha", "alpha")]
    for asker in askers:
        asker.start()
    try:
        for name, title, text in ADDED:  # one ingest process per document: several changes for the app to follow
            path = write_txt(tmp_path / "added" / f"{title.replace(' ', '-').lower()}.txt", f"{title}\n\n{text}\n")
            proc = subprocess.run(
                [sys.executable, "-m", "ingest", "--store", str(settings.store_dir), "--embedder", "fake",
                 "--collection", name, str(path)],
                cwd=tmp_path, env=subprocess_env(), capture_output=True, text=True, timeout=CLI_TIMEOUT_S)
            assert proc.returncode == 0, proc.stdout + proc.stderr
    finally:
        done.set()
        for asker in askers:
            asker.join(timeout=60)
    assert not failures, failures[:5]

    for collection in ("alpha", "beta"):  # the app reads the registry again within a couple of seconds
        added = {title for name, title, _ in ADDED if name == collection}
        deadline = time.monotonic() + 30
        while not added <= titles(answer := ask(collection)) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert titles(answer) == {REPORTS[collection][0], *added}
    counts = {name: c["documents"] for name, c in http.get("/healthz").json()["collections"].items()}
    assert counts == {"forum": 0, "alpha": 4, "beta": 2}
