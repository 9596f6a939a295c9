"""The text handling ingest/ and bot/ share, as pure functions (no model, no store): search tokens, sentence
splitting and the answer-type cues of a sentence, and the language of a document. (List items: test_bot_evidence;
the language of a question: test_ingest_language.)"""

from __future__ import annotations

import pytest

from bot.sentences import matches_type, question_type, split_sentences
from textkit.language import detect_document_language
from textkit.tokens import fold_accents, tokenize


def test_chinese_is_cut_into_jieba_words_with_its_stopwords_dropped():
    tokens = tokenize("2024年中国与拉美的贸易额是多少？", "zh")
    assert {"中国", "拉美", "贸易", "贸易额", "2024"} <= set(tokens)
    assert not {"的", "是", "多少", "年", "？"} & set(tokens)


def test_spanish_and_english_words_are_folded_lowercased_and_stemmed():
    assert tokenize("¿Cuánto alcanzó el comercio entre China y América Latina?", "es") == [
        "alcanz", "comerci", "entre", "chin", "amer", "latin"]
    assert tokenize("The traders traded", "en", drop_stopwords=False) == ["the", "trader", "trade"]
    assert tokenize("Año INVERSIÓN") == ["ano", "inversion"]  # no language: folded, not stemmed


def test_a_number_with_its_separators_is_one_token():
    assert "518.47" in tokenize("Trade reached 518.47 billion", "en")
    assert "120,000" in tokenize("120,000 tons", "en")


def test_stopwords_are_kept_on_request_and_accents_fold():
    assert tokenize("what is the trade", "en", drop_stopwords=False)[:3] == ["what", "is", "the"]
    assert tokenize("what is the trade", "en") == ["trade"]
    assert fold_accents("inversión Peña ü") == "inversion Pena u"


def test_chinese_sentences_end_at_their_own_punctuation_which_stays_with_them():
    text = "论坛在上海举行。来自十个国家的代表参加了会议！他们讨论了什么问题？第一，贸易；第二，投资。"
    assert split_sentences(text) == [
        "论坛在上海举行。", "来自十个国家的代表参加了会议！", "他们讨论了什么问题？", "第一，贸易；", "第二，投资。"]


def test_latin_sentences_split_after_a_full_stop_but_not_inside_numbers_or_after_abbreviations():
    text = ("Trade reached 518.47 billion dollars last year. Dr. Smith said it would grow further. "
            "El Sr. Pérez lo anunció en Lima ayer.")
    assert split_sentences(text) == [
        "Trade reached 518.47 billion dollars last year.",
        "Dr. Smith said it would grow further.",
        "El Sr. Pérez lo anunció en Lima ayer.",
    ]


def test_headings_and_short_labels_are_not_sentences():
    text = "# Launch and host city\nThe forum was held in Shanghai in May.\nExpected results\n¿Quién lo dijo?"
    assert split_sentences(text) == ["The forum was held in Shanghai in May."]


@pytest.mark.parametrize(
    ("question", "qtype"),
    [("How much was trade in 2024?", "quantity"), ("2024年中拉贸易额是多少？", "quantity"),
     ("¿Cuándo se celebró el foro?", "date"), ("论坛是什么时候举行的？", "date"),
     ("Who gave the opening remarks?", "person"), ("谁在论坛上致开幕辞？", "person"),
     ("¿Dónde se celebró el foro?", "place"), ("Tell me about the forum", None)],
)
def test_the_question_type_is_read_in_every_language(question, qtype):
    assert question_type(question) == qtype


def test_a_sentence_matches_the_type_a_question_asks_for():
    assert matches_type("Trade reached 518 billion dollars.", "quantity")
    assert not matches_type("Trade grew a lot.", "quantity")
    assert matches_type("七十余位专家出席了论坛。", "quantity") and matches_type("提供一百二十个名额。", "quantity")
    assert not matches_type("本次论坛是一个知识交流平台。", "quantity")  # 一个: "a", not a count
    assert matches_type("论坛吸引了一万人参加。", "quantity") and matches_type("贸易额增长了一亿美元。", "quantity")
    assert matches_type("The forum opened on 14 March.", "date")
    assert matches_type("Claudio Rojas Rachel opened the forum.", "person")
    assert matches_type("论坛在上海举行。", "place")
    assert matches_type("The forum was held at SASS.", "place") and matches_type("Se celebró en la Academia.", "place")
    assert not matches_type("China-Latin America relations are at their strongest point.", "place")  # a name alone
    assert not matches_type("Anything at all.", None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("El foro analizó el comercio, la inversión y la cooperación entre ambas regiones durante dos días.", "es"),
     ("The forum discussed trade, investment and cooperation between the two regions for two days.", "en"),
     ("论坛讨论了两个地区之间的贸易、投资与合作。", "zh"),
     ("Le forum a examiné le commerce, l'investissement et la coopération entre les deux régions.", "other"),
     ("フォーラムは貿易と投資について議論した。", "other"),
     ("2024 — 518.47 / 12", "other")],
)
def test_a_document_may_be_in_another_language(text, expected):
    assert detect_document_language(text) == expected
