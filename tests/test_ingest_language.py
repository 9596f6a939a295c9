"""The visitor's language: short questions with foreign names, and the interface language deciding only the
questions whose own language is ambiguous."""

from __future__ import annotations

import pytest

from textkit.language import detect_question_language, strip_names


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Who is Claudio Rojas Rachel?", "en"),
        ("What did Claudio Rojas say about Chile?", "en"),
        ("Who is Wu Xueming?", "en"),
        ("What is CELAC?", "en"),
        ("Who is Peña Nieto?", "en"),  # the ñ of a name is not Spanish
        ("¿Quién es Wu Xueming?", "es"),
        ("Quién es Claudio Rojas Rachel", "es"),
        ("Qué dijo Claudio Rojas sobre Chile", "es"),
        ("Claudio Rojas Rachel是谁？", "zh"),
        ("谁是Claudio Rojas Rachel？", "zh"),
        ("Wu Xueming说了什么？", "zh"),
        ("Where was the China–LAC think tank forum held?", "en"),
        ("Y la inversión acumulada?", "es"),
    ],
)
@pytest.mark.parametrize("prior", [None, "zh", "es", "en"])
def test_questions_with_foreign_names_keep_their_language_whatever_the_interface(question, expected, prior):
    assert detect_question_language(question, prior=prior) == expected


@pytest.mark.parametrize("question", ["Claudio Rojas Rachel?", "Wu Xueming", "OK", "Claudio", "2024?", "¿?"])
@pytest.mark.parametrize("prior", ["zh", "es", "en"])
def test_the_interface_language_decides_ambiguous_questions(question, prior):
    assert detect_question_language(question, prior=prior) == prior


def test_without_a_prior_ambiguous_text_still_gets_a_served_language():
    assert detect_question_language("Claudio Rojas Rachel?") in ("zh", "es", "en")
    assert detect_question_language("OK") == "en"
    assert detect_question_language("2024?", default="es") == "es"
    assert detect_question_language("OK", prior="fr") == "en"  # an unserved prior is no prior


def test_names_are_set_aside_but_a_sentence_keeps_its_first_word():
    assert strip_names("Who is Claudio Rojas Rachel?").split() == ["Who", "is", "?"]
    assert strip_names("Claudio Rojas Rachel?").split() == ["?"]
    assert strip_names("Did Claudio Rojas speak at the CELAC forum?").split() == ["Did", "speak", "at", "the", "forum?"]
    assert strip_names("Qué dijo Xi Jinping? Y el ministro Wang Yi?").split() == [
        "Qué", "dijo", "?", "Y", "el", "ministro", "?"]
