"""After an ingest, the next question does not wait for the BM25 rebuild: the previous index answers while one
background build runs, and the new document's words count once it is swapped in."""

from __future__ import annotations

import threading
import time

from fixtures_builders import ES_INVESTMENT, write_txt

import bot.retrieval
from bot.bm25_index import LanguageBM25
from bot.retrieval import HybridRetriever
from ingest.pipeline import ingest_paths
from store import document_id, open_index

NOTE = ("Nota sobre el puerto de Chancay. El puerto de Chancay recibió diecisiete grúas nuevas en 2025, según "
        "esta nota ficticia sobre grúas portuarias.")
QUESTION = "¿Cuántas grúas recibió el puerto de Chancay?"
PROMPT_S = 1.0  # far under the rebuild, which is held until the test lets it go


def lexical_share(retriever: HybridRetriever, index, doc_id: str) -> float:
    """The best lexical share of the document's chunks among the question's candidates."""
    vector = index.embedder.embed_query(QUESTION)
    scored = retriever.score(QUESTION, "es", vector)
    return max((s.lexical for s in scored if s.chunk.metadata.get("doc_id") == doc_id), default=0.0)


def test_the_question_after_an_ingest_is_answered_from_the_previous_bm25_while_the_next_builds(
    tmp_path, make_settings, fake_embedder, monkeypatch
):
    settings = make_settings(embedder="fake", fetch_k=50)
    index = open_index(settings, fake_embedder)
    assert not ingest_paths([write_txt(tmp_path / "docs" / "inversion.txt", ES_INVESTMENT)], index, settings).failed
    retriever = HybridRetriever(index, settings)
    first = retriever.bm25()  # the first build happens in the caller (the app's warm-up)

    release, builds = threading.Event(), []

    class HeldBM25(LanguageBM25):
        def __init__(self, chunks, previous=None):
            builds.append(threading.current_thread().name)
            release.wait(30)
            super().__init__(chunks, previous)

    monkeypatch.setattr(bot.retrieval, "LanguageBM25", HeldBM25)
    note = write_txt(tmp_path / "docs" / "gruas.txt", NOTE)
    assert ingest_paths([note], index, settings).count("added") == 1
    doc_id = document_id(str(note.resolve()))
    try:
        for _ in range(3):  # questions while the rebuild is held: answered at once, from the previous index
            started = time.perf_counter()
            hits = retriever.retrieve(QUESTION, "es", index.embedder.embed_query(QUESTION))
            assert time.perf_counter() - started < PROMPT_S
            assert doc_id in {h.doc_id for h in hits}  # the dense search already finds the new document
            assert retriever.bm25() is first
        assert lexical_share(retriever, index, doc_id) == 0.0  # its words are not in the previous index yet
        assert builds == ["forumqa-bm25-rebuild"]  # one rebuild, off the request path, however many questions
    finally:
        release.set()

    deadline = time.monotonic() + 30
    while retriever.bm25() is first and time.monotonic() < deadline:
        time.sleep(0.05)
    assert retriever.bm25() is not first, "the rebuilt index was never swapped in"
    assert lexical_share(retriever, index, doc_id) > 0.5
    assert builds == ["forumqa-bm25-rebuild"]  # nothing changed since: no further rebuild
