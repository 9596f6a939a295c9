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


def test_bm25_only_matches_chunks_in_the_questions_language(bm25):
    assert set(bm25.coverage("How much was trade with Latin America?", "en")) == {"en-trade", "en-forum"}
    assert set(bm25.coverage("comercio con América Latina", "es")) == {"es-trade"}
    assert set(bm25.coverage("拉美贸易额", "zh")) == {"zh-trade"}
    assert bm25.coverage("trade", "fr") == {}
    assert bm25.coverage("the of and", "en") == {}  # only stopwords: nothing to look for
    assert bm25.coverage("neverseen", "en") == {}  # a word no chunk holds matches none
    assert bm25.coverage("trade", "en").get("es-trade", 0.0) == 0.0  # another language's chunk: no share


def test_bm25_keeps_no_chunk_text():
    """What an app process holds per chunk is its id and its column in the model, not its text: texts of
    every chunk would make the memory grow with the corpus (issue 14)."""
    bm25 = LanguageBM25(iter(CHUNKS))  # read in one pass
    text = CHUNKS[0].text
    held = [bm25]
    seen: set[int] = set()
    while held:
        value = held.pop()
        if id(value) in seen or isinstance(value, int | float | bytes | type):
            continue
        seen.add(id(value))
        assert not (isinstance(value, str) and value == text)
        if isinstance(value, dict):
            held += [*value.keys(), *value.values()]
        elif isinstance(value, list | tuple | set):
            held += list(value)
        elif hasattr(value, "__dict__"):
            held += list(vars(value).values())


def test_bm25_coverage_is_the_share_of_the_questions_term_weight_a_chunk_holds(bm25):
    coverage = bm25.coverage("trade in Shanghai", "en")
    assert coverage["en-forum"] == pytest.approx(1.0)  # holds every term
    assert 0 < coverage["en-trade"] < 1  # "trade" only
    assert bm25.coverage("中国与拉美的贸易额", "zh") == {"zh-trade": pytest.approx(1.0)}


def test_a_rare_term_weighs_more_than_a_common_one_and_an_unseen_term_as_much_as_the_rarest(bm25):
    weights = bm25.term_weights(["trade", "shanghai", "neverseen"])  # in 2 chunks, in 1, in none
    assert weights["trade"] < weights["shanghai"] == weights["neverseen"]


def test_an_index_built_on_a_previous_one_tokenizes_only_new_chunks_and_scores_the_same(monkeypatch):
    """After an ingest the app builds the next index from the previous one: the result is the index a fresh
    build gives, and only the new chunks' texts are tokenized (a refresh at 100,000 chunks was minutes of it)."""
    import bot.bm25_index

    earlier = LanguageBM25(CHUNKS[:2] + CHUNKS[3:])
    added = ScoredChunk("en-ports", "Port investment in Chancay reached 3 billion dollars, the forum on trade heard.",
                        {"language": "en"}, 0.0)
    current = [*CHUNKS[1:], added]  # en-trade is gone, en-ports is new
    tokenized = []
    real_tokenize = bot.bm25_index.tokenize
    monkeypatch.setattr(bot.bm25_index, "tokenize",
                        lambda text, lang: tokenized.append(text) or real_tokenize(text, lang))
    refreshed = LanguageBM25(current, previous=earlier)
    assert tokenized == [CHUNKS[2].text, added.text]  # es-trade was not in the earlier index, en-ports is new
    monkeypatch.setattr(bot.bm25_index, "tokenize", real_tokenize)
    fresh = LanguageBM25(current)
    for question, lang in [("trade in Chancay and Shanghai", "en"), ("comercio con América Latina", "es"),
                           ("拉美贸易额", "zh"), ("dollars billion forum", "en")]:
        assert dict(refreshed.coverage(question, lang)) == pytest.approx(dict(fresh.coverage(question, lang)))
        words = real_tokenize(question, lang)
        assert refreshed.term_weights(words) == pytest.approx(fresh.term_weights(words))
    assert "en-trade" not in refreshed.coverage("trade", "en")
    assert earlier.coverage("Chancay port", "en") == {}  # the index that keeps serving meanwhile is unchanged
