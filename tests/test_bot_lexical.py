"""The bot's word-level checks, as pure functions: BM25 within the question's language, follow-up questions,
and what a question names (figures, places, names) that a document must mention."""

from __future__ import annotations

import pytest

from bot.bm25_index import LanguageBM25
from bot.entities import missing, named_in, names_anything, places_discussed, places_in
from bot.follow_up import follow_up_query, is_elliptical, previous_quotes
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

TRADE_TURNS = [
    {"role": "user", "content": "How much was trade between China and Latin America in 2024?"},
    {"role": "assistant", "content": "The report says: “Trade between China and Latin America reached 518 billion "
                                     "dollars in 2024.” [1]"},
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


@pytest.mark.parametrize(
    ("question", "language"),
    [("And in 2023?", "en"), ("What did he say about youth?", "en"), ("¿Y la inversión acumulada?", "es"),
     ("¿Qué desafíos mencionó?", "es"), ("他提到了哪些挑战？", "zh"), ("那投资呢？", "zh")],
)
def test_an_elliptical_question_is_asked_with_the_previous_one(question, language):
    assert is_elliptical(question, language)
    assert follow_up_query(question, TRADE_TURNS, language) == f"{TRADE_TURNS[0]['content']} {question}"


@pytest.mark.parametrize(
    ("question", "language"),
    [("Where was the China–LAC think tank forum held?", "en"), ("Who is Claudio Rojas Rachel?", "en"),
     ("¿Cuántas becas ofrece el Programa Cóndor?", "es"), ("2024年中国对拉美的投资是多少？", "zh")],
)
def test_a_question_that_names_its_subject_stands_alone(question, language):
    assert not is_elliptical(question, language)
    assert follow_up_query(question, TRADE_TURNS, language) == question


def test_a_follow_up_needs_an_earlier_question_and_the_previous_quotes_are_found():
    assert follow_up_query("And in 2023?", [], "en") == "And in 2023?"
    assert follow_up_query(TRADE_TURNS[0]["content"], TRADE_TURNS, "en") == TRADE_TURNS[0]["content"]
    assert previous_quotes(TRADE_TURNS) == [
        "Trade between China and Latin America reached 518 billion dollars in 2024."]


def test_a_question_names_figures_of_three_digits_or_more_and_capitalised_words_after_its_start():
    assert named_in("How much did trade with Brazil grow in 2024 to 120,000 tons in 12 months?") == (
        {"2024", "120,000"}, {"Brazil"})
    assert names_anything("What about Peru?") and not names_anything("what is the weather like")


def test_places_are_known_in_every_language_longest_name_first():
    assert places_in("Trade between China and Brazil") == {"China", "Brazil"}
    assert places_in("拉美国家和美国") == {"Latin America", "United States"}
    assert places_in("los peruanos y México") == {"Mexico"}
    assert places_in("los peruanos y México", adjectives=True) == {"Peru", "Mexico"}


def test_a_place_only_listed_among_many_is_not_discussed():
    text = "Experts from Mexico, Argentina, Peru, Chile and Brazil attended. Peru signed a deal with China."
    assert places_discussed(text) == {"Peru", "China"}


def test_what_a_document_does_not_mention():
    question = "How much did trade with Brazil grow in 2024?"
    assert missing(question, "El comercio con Brasil creció en 2024.", "es") == []  # a place in any language
    assert missing(question, "Trade with Brazil grew in 2023.", "en") == ["2024"]
    assert missing("Trade of 120,000 tons?", "Trade of 120.000 tons.", "en") == []  # separators differ
    assert missing("What did Montenegro say?", "The coordinator said hello.", "en") == ["Montenegro"]
    assert missing("What did Montenegro say?", "The coordinator Montenegro said hello.", "en") == []
    assert missing("What did Montenegro say?", "协调员说你好。", "zh") == []  # names are not checked across scripts
    assert missing("What did Montenegro say?", "The coordinator said hello.", "en", names=False) == []
