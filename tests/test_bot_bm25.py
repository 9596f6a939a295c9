"""BM25 within the question's language, on a handful of chunks (no store, no model): which chunks match, the share
of a question's term weight a chunk holds, and the weight of rare terms. (What a question names and follow-ups:
test_bot_evidence.)"""

from __future__ import annotations

import pytest

from bot.bm25_index import LanguageBM25
from store import ScoredChunk

CHUNKS = [
    ScoredChunk("en-trade", "Trade between China and Latin America reached 518 billion dollars in 2024.",
                {"language": "en"}, 0.0),
    ScoredChunk("en-forum", "The forum on trade was held in Shanghai and discussed climate change.",
                {"language": "en"}, 0.0),
    ScoredChunk("es-trade", "El comercio entre China y América Latina alcanzó 518 mil millones en 2024.",
                {"language": "es"}, 0.0),
    ScoredChunk("zh-trade", "2024年中国与拉美的贸易额达到5184亿美元。", {"language": "zh"}, 0.0),
]


@pytest.fixture(scope="module")
def bm25() -> LanguageBM25:
    return LanguageBM25(CHUNKS)


def test_bm25_only_searches_the_questions_language(bm25):
    assert [c.chunk_id for c in bm25.search("How much was trade with Latin America?", "en", 5)] == [
        "en-trade", "en-forum"]
    assert [c.chunk_id for c in bm25.search("comercio con América Latina", "es", 5)] == ["es-trade"]
    assert [c.chunk_id for c in bm25.search("拉美贸易额", "zh", 5)] == ["zh-trade"]
    assert bm25.search("trade", "fr", 5) == [] and bm25.coverage("trade", "fr") == {}
    assert bm25.search("the of and", "en", 5) == []  # only stopwords: nothing to look for


def test_bm25_coverage_is_the_share_of_the_questions_term_weight_a_chunk_holds(bm25):
    coverage = bm25.coverage("trade in Shanghai", "en")
    assert coverage["en-forum"] == pytest.approx(1.0)  # holds every term
    assert 0 < coverage["en-trade"] < 1  # "trade" only
    assert bm25.coverage("中国与拉美的贸易额", "zh") == {"zh-trade": pytest.approx(1.0)}


def test_a_rare_term_weighs_more_than_a_common_one_and_an_unseen_term_as_much_as_the_rarest(bm25):
    weights = bm25.term_weights(["trade", "shanghai", "neverseen"])  # in 2 chunks, in 1, in none
    assert weights["trade"] < weights["shanghai"] == weights["neverseen"]
