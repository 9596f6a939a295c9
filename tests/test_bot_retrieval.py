"""Hybrid retrieval's fusion on a small real Chroma store with the deterministic fake embedder: the lexical bonus
counts only in the question's language and is bounded, one hit per document, and a report's edition in the
question's language is the one returned."""

from __future__ import annotations

import pytest
from support import build_settings

from bot.retrieval import HybridRetriever, Scored
from ingest.pipeline import ingest_paths
from store import ScoredChunk, open_index
from store.embedders import FakeEmbeddings

REPORTS = {
    "trade-en.txt": "Trade report\n\nTrade between China and Latin America reached 518 billion dollars in 2024, "
                    "according to the forum's closing session on commerce and investment.",
    "trade-es.txt": "Informe de comercio\n\nEl comercio entre China y América Latina alcanzó 518 mil millones de "
                    "dólares en 2024, según la sesión de clausura del foro sobre comercio e inversión.",
    "climate-en.txt": "Climate notes\n\nMangroves protect the coast from erosion and storms; the delegates agreed "
                      "on a programme of coastal restoration for the Pacific.",
    "youth-zh.txt": "青年交流\n\n中拉青年研究人员交流项目每年提供一百二十个奖学金名额，由双方大学共同管理。",
}
QUESTION_EN = "What was the trade between China and Latin America in 2024?"
QUESTION_ES = "¿Cuánto comercio hubo entre China y América Latina en 2024?"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("retrieval")
    folder = root / "reports"
    folder.mkdir()
    for name, text in REPORTS.items():
        (folder / name).write_text(text, encoding="utf-8")
    settings = build_settings(root, embedder="fake")
    index = open_index(settings, FakeEmbeddings())
    report = ingest_paths([folder], index, settings)
    assert report.count("added") == len(REPORTS) and not report.failed
    return settings, index


def retriever(store, **settings) -> HybridRetriever:
    base, index = store
    return HybridRetriever(index, base.model_copy(update=settings))


def vector(store, question: str) -> list[float]:
    return store[1].embedder.embed_query(question)


def source_names(hits) -> list[str]:
    return [hit.metadata["source"].rsplit("/", 1)[-1] for hit in hits]


def test_a_chunks_total_is_its_dense_score_plus_the_weighted_lexical_share():
    scored = Scored(ScoredChunk("c", "text", {}, 0.0), dense=1.5, lexical=0.4)
    assert scored.total(0.5) == pytest.approx(1.7)
    assert scored.total(0.0) == pytest.approx(1.5)


def test_the_lexical_share_counts_only_in_the_questions_language_and_is_bounded(store):
    scored = retriever(store).score(QUESTION_EN, "en", vector(store, QUESTION_EN))
    by_source = {s.chunk.metadata["source"].rsplit("/", 1)[-1]: s for s in scored}
    assert set(by_source) == set(REPORTS)  # every language's candidates are scored
    assert all(0.0 <= s.lexical <= 1.0 for s in scored)
    assert by_source["trade-en.txt"].lexical == pytest.approx(1.0)  # holds every term of the question
    assert by_source["climate-en.txt"].lexical < 0.5
    assert by_source["trade-es.txt"].lexical == 0.0 and by_source["youth-zh.txt"].lexical == 0.0


def test_with_a_heavy_lexical_weight_the_document_with_the_words_ranks_first(store):
    hits = retriever(store, lexical_weight=50.0, top_k=4).retrieve(QUESTION_EN, "en", vector(store, QUESTION_EN))
    assert source_names(hits)[0] == "trade-en.txt"
    assert len({hit.doc_id for hit in hits}) == len(hits)  # one hit per document
    assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)


def test_a_report_comes_back_in_the_edition_of_the_questions_language(store):
    for question, language, wanted, other in ((QUESTION_ES, "es", "trade-es.txt", "trade-en.txt"),
                                              (QUESTION_EN, "en", "trade-en.txt", "trade-es.txt")):
        hits = retriever(store, top_k=4).retrieve(question, language, vector(store, question))
        names = source_names(hits)
        assert wanted in names and other not in names, (language, names)


def test_top_k_limits_the_hits_and_each_hit_reads_its_whole_document(store):
    hits = retriever(store, top_k=2).retrieve(QUESTION_EN, "en", vector(store, QUESTION_EN))
    assert len(hits) == 2
    for hit in hits:
        assert hit.text in hit.whole_text()


def test_a_chunk_with_the_questions_words_is_scored_even_when_the_dense_search_misses_it(store):
    question = "Which mangroves protect the coast from erosion?"
    dense_only = retriever(store, fetch_k=1, lexical_k=0).score(question, "en", vector(store, question))
    with_lexical = retriever(store, fetch_k=1, lexical_k=2).score(question, "en", vector(store, question))
    english = {s.chunk.chunk_id: s for s in with_lexical if s.chunk.metadata["language"] == "en"}
    climate = [s for s in english.values() if s.chunk.metadata["source"].endswith("climate-en.txt")]
    assert len([s for s in dense_only if s.chunk.metadata["language"] == "en"]) == 1
    assert climate and climate[0].lexical > 0.5 and climate[0].chunk.vector is not None
    assert len(english) == len({s.chunk.chunk_id for s in with_lexical if s.chunk.metadata["language"] == "en"})
