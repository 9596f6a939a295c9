"""No question waits for the lexical index (issue 14): before the first is built, a question is answered without
the lexical bonus while one background build runs; after an ingest, the previous index answers while one
background refresh, which reads only the new document's chunks, runs, and the new document's words count once it
is swapped in."""

from __future__ import annotations

import threading

import pytest
from fixtures_builders import EN_CLIMATE, ES_INVESTMENT, write_txt

from bot.retrieval import HybridRetriever
from ingest.pipeline import ingest_paths, remove_paths
from store import document_id, open_index

pytestmark = pytest.mark.lexical_index_in_background  # conftest.py: here a question never waits for a build

NOTE = ("Nota sobre el puerto de Chancay. El puerto de Chancay recibió diecisiete grúas nuevas en 2025, según "
        "esta nota ficticia sobre grúas portuarias.")
QUESTION = "¿Cuántas grúas recibió el puerto de Chancay?"


def lexical_share(retriever: HybridRetriever, index, doc_id: str) -> float:
    """The best lexical share of the document's chunks among the question's candidates."""
    vector = index.embedder.embed_query(QUESTION)
    scored = retriever.score(QUESTION, "es", vector)
    return max((s.lexical for s in scored if s.chunk.metadata.get("doc_id") == doc_id), default=0.0)


class HeldReads:
    """Wraps index.chunks_of: records which documents each read asks for, and holds every read until released."""

    def __init__(self, index, monkeypatch) -> None:
        self.release, self.started, self.documents = threading.Event(), threading.Event(), []
        real = index.chunks_of

        def held(records):
            records = list(records)
            self.documents.append(sorted(r.doc_id for r in records))
            self.started.set()
            assert self.release.wait(30)
            yield from real(records)

        monkeypatch.setattr(index, "chunks_of", held)


@pytest.fixture
def store(tmp_path, make_settings, fake_embedder):
    settings = make_settings(embedder="fake", fetch_k=50)
    index = open_index(settings, fake_embedder)
    files = [write_txt(tmp_path / "docs" / "inversion.txt", ES_INVESTMENT),
             write_txt(tmp_path / "docs" / "climate.txt", EN_CLIMATE)]
    assert not ingest_paths(files, index, settings).failed
    return settings, index, files


def test_a_question_before_the_first_index_is_built_is_answered_without_waiting_for_it(store, monkeypatch):
    settings, index, files = store
    retriever = HybridRetriever(index, settings)
    reads = HeldReads(index, monkeypatch)
    try:
        for _ in range(3):  # each returns while the build is held: it does not wait for it
            hits = retriever.retrieve(QUESTION, "es", index.embedder.embed_query(QUESTION))
            assert document_id(str(files[0].resolve())) in {h.doc_id for h in hits}  # the dense search answers
            assert retriever.lexical_index() is None
            assert retriever.term_weights(QUESTION, "es") == {}
        assert reads.started.wait(30)
        assert len(reads.documents) == 1  # one build, however many questions
    finally:
        reads.release.set()
    built = retriever.lexical_index(wait=True)
    assert built is not None and retriever.lexical_index() is built
    assert reads.documents == [sorted(document_id(str(f.resolve())) for f in files)]  # every document, once
    assert retriever.term_weights(QUESTION, "es")


def test_after_an_ingest_the_previous_index_answers_while_the_refresh_reads_only_the_new_document(
    store, tmp_path, monkeypatch
):
    settings, index, files = store
    retriever = HybridRetriever(index, settings)
    first = retriever.lexical_index(wait=True)
    reads = HeldReads(index, monkeypatch)
    note = write_txt(tmp_path / "docs" / "gruas.txt", NOTE)
    assert ingest_paths([note], index, settings).count("added") == 1
    doc_id = document_id(str(note.resolve()))
    try:
        for _ in range(3):  # questions while the refresh is held: answered at once, from the previous index
            hits = retriever.retrieve(QUESTION, "es", index.embedder.embed_query(QUESTION))
            assert doc_id in {h.doc_id for h in hits}  # the dense search already finds the new document
            assert retriever.lexical_index() is first
        assert lexical_share(retriever, index, doc_id) == 0.0  # its words are not in the previous index yet
        assert reads.started.wait(30)
    finally:
        reads.release.set()
    refreshed = retriever.lexical_index(wait=True)
    assert refreshed is not first and retriever.lexical_index() is refreshed
    assert reads.documents == [[doc_id]]  # one refresh, and it read the new document's chunks only
    assert lexical_share(retriever, index, doc_id) > 0.5

    remove_paths([note], index, settings)
    assert retriever.lexical_index(wait=True) is not refreshed
    assert reads.documents == [[doc_id]]  # a removal reads no chunk
    assert not any(cid.startswith(doc_id) for cid in retriever.lexical_index().coverage(QUESTION, "es"))


def test_a_failed_build_is_retried_after_a_pause_not_by_every_question(store, monkeypatch):
    settings, index, files = store
    retriever = HybridRetriever(index, settings)
    reads = []

    def failing(records):
        reads.append(1)
        raise RuntimeError("the store cannot be read")

    monkeypatch.setattr(index, "chunks_of", failing)
    assert retriever.lexical_index(wait=True) is None and len(reads) == 1
    for _ in range(5):  # questions right after the failure start no build of their own
        assert retriever.lexical_index(wait=True) is None
    assert len(reads) == 1
    monkeypatch.undo()  # the store reads again
    retriever._lexical_failed_at -= 31  # and the pause is over
    assert retriever.lexical_index(wait=True) is not None and len(reads) == 1
