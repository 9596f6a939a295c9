"""One embedded client per store folder (bug B5): opening the store afresh after another process wrote replaces the
client for every collection on it, and leaves no Chroma system or open file behind."""

from __future__ import annotations

import os

from fixtures_builders import write_txt

from ingest.pipeline import ingest_paths
from store import open_index
from store.client import embedded_store, open_systems, reopen_embedded
from store.collections import collection_settings


def _open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_reopening_the_store_many_times_keeps_one_client_and_no_more_open_files(tmp_path, make_settings,
                                                                               fake_embedder):
    settings = make_settings(embedder="fake")
    alpha, beta = settings, collection_settings(settings, "beta")
    write_txt(tmp_path / "a" / "a.txt", "Alpha report about harbour cranes in Callao and their new berths.")
    write_txt(tmp_path / "b" / "b.txt", "Beta report about soybean exports from Santos to Shanghai.")
    indexes = [open_index(alpha, fake_embedder), open_index(beta, fake_embedder)]
    for index, folder in zip(indexes, ("a", "b")):
        assert not ingest_paths([tmp_path / folder], index, index.settings).failed
    queries = [fake_embedder.embed_query(text) for text in ("harbour cranes", "soybean exports")]

    def answer_both() -> list[str]:
        return [index.dense_search(query, 1)[0].metadata["source"] for index, query in zip(indexes, queries)]

    expected = answer_both()
    store = embedded_store(settings)
    systems, files = open_systems(), _open_files()
    for _ in range(12):  # what a web app does each time an ingest CLI commits beside it
        reopen_embedded(store, store.generation)
        assert answer_both() == expected
    assert store.generation == 12
    assert open_systems() == systems
    assert _open_files() <= files
    assert all(index.client is store.client for index in indexes)


def test_a_write_through_this_process_reopens_nothing(tmp_path, make_settings, fake_embedder):
    folder = tmp_path / "reports"
    write_txt(folder / "trade.txt", "Trade between China and Latin America grew in 2024, said the forum report.")
    settings = make_settings(embedder="fake")
    writer, reader = open_index(settings, fake_embedder), open_index(settings, fake_embedder)
    generation = embedded_store(settings).generation

    assert not ingest_paths([folder], writer, settings).failed

    query = fake_embedder.embed_query("trade")
    assert reader.dense_search(query, 3)  # sees the new documents through the one client, without a reopen
    assert embedded_store(settings).generation == generation
