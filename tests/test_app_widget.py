"""The widget script repeats nothing the server knows: the served languages, its words and the limits come
with the script as the server serves it, and its source links are the server's own."""

from __future__ import annotations

import json
import re

import pytest
from pydantic import ValidationError

from bot import LANG_CHOICES
from settings import Settings
from textkit.language import SERVED
from web.documents import file_url
from web.ui_text import LANGUAGE_CHOICES, UI_TEXT, WIDGET_TEXT
from web.widget import CONFIG_PLACEHOLDER, WIDGET_JS, widget_source


def served_config(source: str) -> dict:
    return json.loads(re.search(r"var CONFIG = (\{.*\});\n", source).group(1))


def test_the_widget_gets_the_servers_languages_words_and_limits():
    source = widget_source(Settings(_env_file=None, max_history_messages=20, max_question_chars=1234))
    config = served_config(source)
    assert (config["maxHistory"], config["maxQuestionChars"]) == (20, 1234)
    assert list(config["text"]) == list(SERVED)
    assert all(words.keys() == config["text"]["en"].keys() for words in config["text"].values())
    assert config["text"]["es"]["sources"] == UI_TEXT["es"]["sources"]  # the words it shares with the chat
    assert CONFIG_PLACEHOLDER not in source and len(source.encode("utf-8")) < 30 * 1024


def test_the_widget_script_spells_out_no_language_limit_or_document_path():
    static = WIDGET_JS.read_text(encoding="utf-8")
    assert static.count(CONFIG_PLACEHOLDER) == 1
    assert not re.search(r"\b(en|es|zh)\s*:\s*\{", static)
    assert not re.search(r"MAX_\w+ = \d", static)
    assert "/api/documents" not in static and "[0-9a-f]" not in static


def test_every_served_language_has_the_words_and_choices():
    assert set(UI_TEXT) == set(WIDGET_TEXT) == set(SERVED)
    assert [value for _, value in LANGUAGE_CHOICES] == list(LANG_CHOICES)


def test_a_source_links_to_its_file_only_with_a_document_id():
    assert file_url("0123456789abcdef") == "/api/documents/0123456789abcdef/file"
    assert file_url("../../etc/passwd") == file_url("0123456789ABCDEF") == file_url("") == ""


def test_the_widget_gets_the_starter_questions_of_each_served_language():
    starters = {"es": ["¿Dónde se celebró el foro?"], "zh": ["论坛在哪里举行？", "  "]}
    config = served_config(widget_source(Settings(_env_file=None, starter_questions=starters)))
    assert config["starters"] == {"es": ["¿Dónde se celebró el foro?"], "zh": ["论坛在哪里举行？"]}
    assert set(served_config(widget_source(Settings(_env_file=None)))["starters"]) == set(SERVED)  # the defaults
    with pytest.raises(ValidationError, match="'fr' is not one of"):
        Settings(_env_file=None, starter_questions={"fr": ["Où ?"]})
