"""One embedded client per store folder (bug B5): opening the store afresh after another process wrote replaces the
client for every collection on it, and leaves no Chroma system or open file behind. The lock the collections share
is not held while a batch is embedded."""

from __future__ import annotations

import threading

from fixtures_builders import write_txt

from ingest.pipeline import ingest_paths
from store import open_index
from store.client import embedded_store, open_systems, reopen_embedded
from store.collections import collection_settings
from store.embedders import FakeEmbeddings


def test_reopening_the_store_many_times_keeps_one_client_and_leaves_no_engine_behind(tmp_path, make_settings,
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
    systems = open_systems()
    for _ in range(12):  # what a web app does each time an ingest CLI commits beside it
        reopen_embedded(store, store.generation)
        assert answer_both() == expected
    assert store.generation == 12
    assert open_systems() == systems  # no engine left behind, with its files and memory
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


class PausingEmbeddings(FakeEmbeddings):
    """A refinable fake whose next document batch, once armed, waits until the test has asked another collection
    something (at most 10 s): whether it got its answer meanwhile tells whether the store's lock was free."""

    refinable = True

    def __init__(self) -> None:
        super().__init__()
        self.armed, self.embedding, self.asked, self.answered_meanwhile = False, threading.Event(), None, []

    def arm(self) -> None:
        self.armed, self.asked = True, threading.Event()
        self.embedding.clear()

    def _pause(self) -> None:
        if self.armed:
            self.armed = False
            self.embedding.set()
            self.answered_meanwhile.append(self.asked.wait(timeout=10))

    def embed_provisional(self, texts):
        self._pause()
        return self.embed_array(texts)

    def refine(self, vectors, texts):
        self._pause()
        return self.embed_array(texts)


def _in_thread(call) -> tuple[threading.Thread, list]:
    result: list = []
    thread = threading.Thread(target=lambda: result.append(call()))
    thread.start()
    return thread, result


def test_embedding_a_batch_or_its_refinement_holds_up_no_other_collection(tmp_path, make_settings, fake_embedder):
    settings = make_settings(embedder="fake")
    alpha, beta = collection_settings(settings, "alpha"), collection_settings(settings, "beta")
    write_txt(tmp_path / "a" / "a.txt", "Alpha report about harbour cranes in Callao and their new berths.")
    write_txt(tmp_path / "b" / "b.txt", "Beta report about soybean exports from Santos to Shanghai.")
    beta_index = open_index(beta, fake_embedder)
    assert not ingest_paths([tmp_path / "b"], beta_index, beta).failed
    slow = PausingEmbeddings()
    alpha_index = open_index(alpha, slow)
    query = fake_embedder.embed_query("soybean exports")

    for work in (lambda: ingest_paths([tmp_path / "a"], alpha_index, alpha, refine=False),
                 lambda: alpha_index.refine(alpha_index.pending_refinement())):
        slow.arm()
        thread, _ = _in_thread(work)
        assert slow.embedding.wait(timeout=30)
        assert beta_index.dense_search(query, 1)[0].metadata["source"].endswith("b.txt")  # a question to beta
        slow.asked.set()
        thread.join()
    assert slow.answered_meanwhile == [True, True]
    assert [r.vectors for r in alpha_index.documents()] == ["final"]


def test_a_document_replaced_while_its_refinement_is_embedded_keeps_its_new_version(tmp_path, make_settings):
    settings = make_settings(embedder="fake")
    path = write_txt(tmp_path / "a" / "a.txt", "Alpha report about harbour cranes in Callao and their new berths.")
    slow = PausingEmbeddings()
    index = open_index(settings, slow)
    assert not ingest_paths([path], index, settings, refine=False).failed
    slow.arm()
    thread, refined = _in_thread(lambda: index.refine(index.pending_refinement()))
    assert slow.embedding.wait(timeout=30)
    write_txt(path, "Alpha report, revised: the harbour cranes went to Paita, not Callao.")
    assert ingest_paths([path], index, settings, refine=False).count("updated") == 1
    slow.asked.set()
    thread.join()

    assert refined == [0]  # the version read was replaced: nothing written over the new one
    [record] = index.documents()
    assert record.vectors == "provisional" and "Paita" in index.document_text(record.doc_id)
    assert all("Paita" in text for text in index.stored_rows(include=("documents",))["documents"])


def test_a_call_that_commits_nothing_gives_no_reason_to_reopen(tmp_path, make_settings, fake_embedder):
    settings = make_settings(embedder="fake")
    write_txt(tmp_path / "a" / "a.txt", "Alpha report about harbour cranes in Callao and their new berths.")
    write_txt(tmp_path / "b" / "b.txt", "Beta report about soybean exports from Santos to Shanghai.")
    first, second = open_index(settings, fake_embedder), open_index(settings, fake_embedder)
    assert not ingest_paths([tmp_path / "a"], first, settings).failed
    assert not ingest_paths([tmp_path / "b"], second, settings).failed  # the newest commit is the second's
    query = fake_embedder.embed_query("harbour cranes")
    assert first.dense_search(query, 2)
    generation = embedded_store(settings).generation

    first.write_documents([], replaced=set())  # write and refine calls that commit nothing
    assert first.refine(first.documents()) == 0
    assert len(first.dense_search(query, 2)) == 2
    assert len(second.dense_search(query, 2)) == 2
    assert embedded_store(settings).generation == generation
