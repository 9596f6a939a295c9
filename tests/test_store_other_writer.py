"""A long-lived reader (the web app) sees what an ingest CLI process adds or removes while it runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from support import subprocess_env

from settings import Settings
from store import open_index

pytestmark = pytest.mark.slow  # three ingest CLI processes


def _ingest(store: Path, *args: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "ingest", "--store", str(store), "--embedder", "fake", *args],
                          cwd=store.parent, env=subprocess_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_reader_follows_documents_written_by_another_process(tmp_path):
    store, docs = tmp_path / "store", tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("alpha report about harbours in Peru and their cranes", encoding="utf-8")
    _ingest(store, str(docs / "a.txt"))
    index = open_index(Settings(store_dir=store, embedder="fake"))
    beta = "beta report about soybean exports from Brazil to Shanghai"
    query = index.embedder.embed_query(beta)
    assert [c.text for c in index.dense_search(query, 5)] == [(docs / "a.txt").read_text()]

    (docs / "b.txt").write_text(beta, encoding="utf-8")
    _ingest(store, str(docs / "b.txt"))
    index.registry.forget()  # skip the 2 s registry cache instead of sleeping
    assert index.dense_search(query, 5)[0].text == beta

    _ingest(store, "--remove", str(docs / "b.txt"))
    index.registry.forget()
    assert beta not in [c.text for c in index.dense_search(query, 5)]
