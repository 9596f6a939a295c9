"""Fast checks of the pure functions behind trustworthy answers: what a question names, follow-up detection,
list items, and the per-language z-scores."""

from __future__ import annotations

import numpy as np
import pytest

from bot.answer import Hit, Source, cite
from bot.entities import missing, named_in, places_in
from bot.extractive import ExtractiveAnswerer, lead_over
from bot.follow_up import follow_up_query, is_elliptical, previous_quotes
from bot.retrieval import _z_scores
from bot.sentences import asks_for_list, list_item_rank, split_sentences
from settings import Settings
from store.embedders import FakeEmbeddings

REPORT = ("On 7 November 2025 the forum was held in Shanghai. In 2024, China-Latin America trade reached "
          "US$518.47 billion; 120,000 jobs were created in Peru and Mexico.")


@pytest.mark.parametrize("question, absent", [
    ("What was China's trade with Brazil in 2024?", ["Brazil"]),
    ("¿Cuánto comerció China con Brasil en 2024?", ["Brazil"]),  # places by their English name
    ("2024年中国和巴西的贸易额是多少？", ["Brazil"]),  # places are known in every language
    ("2024年中拉贸易额是多少？", []),
    ("哪些拉美国家的专家出席了论坛？", []),  # Latin America, not "美国" inside "拉美国家"
    ("And in 2023?", ["2023"]),
    ("How much Chinese trade was there in 2024?", []),  # "Chinese" is China's
    ("Were 120.000 jobs created?", []),  # separators differ, the figure is the same
    ("Did trade reach 518.47 billion?", []),
    ("Were 1500 jobs created?", ["1500"]),  # not inside 120,000 or 518.47
    ("Who spoke about Peruvian ports?", []),
])
def test_a_document_must_mention_what_the_question_names(question, absent):
    assert sorted(missing(question, REPORT, "en")) == sorted(absent)


def test_places_are_known_by_their_names_and_adjectives_in_three_languages():
    assert places_in("印度尼西亚和南非的代表") == {"Indonesia", "South Africa"}  # not also India and Africa
    assert places_in("¿Qué usan los peruanos?") == set()  # adjectives and "usan" name no place in a question
    assert places_in("¿Qué usan los peruanos?", adjectives=True) == {"Peru"}  # but a text about Peruvians counts
    assert missing("¿Qué exporta Chile a China?", "智利对中国的出口", "zh", names=False) == []


def test_a_place_only_listed_among_others_is_not_discussed():
    listed = "Experts from Mexico, Argentina, Peru, Chile and Bolivia attended. China's trade grew."
    assert missing("¿Qué acuerdos firmó Perú?", listed, "en", names=False) == ["Peru"]
    assert missing("秘鲁代表讲了什么？", listed + " Peru's delegate spoke about ports.", "en", names=False) == []


def test_names_are_not_checked_against_chinese_text_or_across_languages():
    assert missing("Who is Claudio Rojas Rachel?", "克劳迪奥·罗哈斯是智利前大使。", "zh") == []
    assert missing("What did the French delegation say?", "la delegación francesa", "es", names=False) == []
    assert named_in("Who is Claudio Rojas Rachel?") == (set(), {"Claudio", "Rojas", "Rachel"})


@pytest.mark.parametrize("question, language, elliptical", [
    ("¿Y la inversión acumulada?", "es", True),
    ("他提到了哪些挑战？", "zh", True),
    ("那累计投资呢？", "zh", True),
    ("What did he say about youth?", "en", True),
    ("Who gave the opening speech at the forum?", "en", False),
    ("还有其他哪些合作领域？", "zh", True),  # "还有" asks for more of the same
    ("其他国家的代表有哪些人参加了论坛并发表了讲话？", "zh", False),  # "其他" is no pronoun
    ("Who is Claudio Rojas Rachel?", "en", False),
    ("What was the total trade between China and Latin America in 2024?", "en", False),
    ("¿Qué dijo sobre la Franja y la Ruta?", "es", True),  # Spanish drops the pronoun
    ("¿Qué dijo el presidente Xi en la cumbre de Lima?", "es", False),  # names who said it
])
def test_elliptical_follow_ups_are_recognised(question, language, elliptical):
    assert is_elliptical(question, language) is elliptical


def test_the_previous_answers_quotes_are_read_from_the_history():
    history = [{"role": "user", "content": "¿Quién es Claudio Rojas Rachel?"},
               {"role": "assistant", "content": "Según los documentos del foro:\n\n“Claudio Rojas Rachel, former "
                                                "Ambassador of Chile, pointed out that…” [1]\n“Corto.” [1]"}]
    assert previous_quotes(history) == ["Claudio Rojas Rachel, former Ambassador of Chile, pointed out that…"]
    assert previous_quotes([]) == []


def test_a_follow_up_is_retrieved_with_the_previous_question_only_when_elliptical():
    history = [{"role": "user", "content": "¿Cuánto fue el comercio en 2024?"}, {"role": "assistant", "content": "…"}]
    assert follow_up_query("¿Y la inversión acumulada?", history, "es") == \
        "¿Cuánto fue el comercio en 2024? ¿Y la inversión acumulada?"
    assert follow_up_query("Who gave the opening speech at the forum?", history, "en") == \
        "Who gave the opening speech at the forum?"
    assert follow_up_query("¿Y la inversión acumulada?", [], "es") == "¿Y la inversión acumulada?"


@pytest.mark.parametrize("sentence, rank", [
    ("First, the prospects are wide.", 1), ("Second, priorities are clear.", 2), ("Finally, both sides agree.", 9),
    ("Primero, las perspectivas.", 1), ("其次，双方应当合作。", 2), ("三是双方应携手克服挑战。", 3),
    ("2. **Clear priorities.** The fields are defined.", 2),
    ("First-time visitors are welcome.", 0), ("1.5 million people attended.", 0), ("第一次会议在上海举行。", 0),
])
def test_list_items_are_ranked(sentence, rank):
    assert list_item_rank(sentence) == rank


@pytest.mark.parametrize("question, wants", [
    ("What are the three points of consensus?", True), ("¿Qué desafíos mencionó?", True),
    ("论坛达成了哪些共识？", True), ("When was the forum held?", False), ("¿Quién dio el discurso?", False),
])
def test_questions_that_ask_for_a_list(question, wants):
    assert asks_for_list(question) is wants


def test_short_headings_are_not_sentences_but_numbered_items_are():
    text = "Launch and host city\nThe programme will launch in March 2026.\n1. Infrastructure connectivity projects"
    assert split_sentences(text) == ["The programme will launch in March 2026.",
                                     "1. Infrastructure connectivity projects"]


def test_z_scores_measure_how_far_a_chunk_stands_out_from_its_languages_background():
    rng = np.random.default_rng(0)
    query = np.array([1.0, 0.0])
    # one language's text is close to every question (a model's bias): its background is close too
    biased_background = np.column_stack([rng.normal(0.8, 0.05, 200), np.zeros(200)])
    plain_background = np.column_stack([rng.normal(0.2, 0.05, 200), np.zeros(200)])
    ordinary_biased, relevant_plain = np.array([[0.82, 0.0]]), np.array([[0.45, 0.0]])
    assert _z_scores(relevant_plain, plain_background, query)[0] > 3
    assert abs(_z_scores(ordinary_biased, biased_background, query)[0]) < 1


def test_cite_renumbers_in_order_of_citation_and_keeps_the_rest_apart():
    sources = [Source(n, f"doc{n}", "", "en", "", 1.0, doc_id=f"d{n}") for n in (1, 2, 3)]
    used, rest, renumber = cite(sources, [3, 1, 3])
    assert [(s.n, s.doc_id) for s in used] == [(1, "d3"), (2, "d1")]
    assert [(s.n, s.doc_id) for s in rest] == [(0, "d2")]
    assert renumber == {3: 1, 1: 2}


def _hit(name: str, score: float) -> Hit:
    return Hit(name, f"text of {name}", {"doc_id": name, "language": "en", "source": f"{name}.txt"}, score)


def test_a_document_that_stands_out_from_the_rest_is_supported_more_than_one_among_equals():
    answerer = ExtractiveAnswerer(Settings(_env_file=None, refusal_margin_weight=0.5), FakeEmbeddings())
    best, runner_up = _hit("a", 3.0), _hit("b", 1.0)
    assert lead_over(best, [best, runner_up]) == pytest.approx(2.0)
    assert answerer.support(best, [best, runner_up]) == pytest.approx(4.0)
    crowded = [best, _hit("c", 2.9), _hit("d", 2.8)]
    assert answerer.support(best, crowded) == pytest.approx(3.05)
    assert answerer.support(best, [best]) == pytest.approx(3.0)  # alone: its score
