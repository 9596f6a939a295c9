"""The tests run on the defaults whatever the developer's shell or `.env` says (conftest's autouse fixture)."""

from __future__ import annotations

import os

from settings import Settings


def test_no_forumqa_setting_of_the_developer_reaches_a_test():
    settings_vars = {f"FORUMQA_{name}".upper() for name in Settings.model_fields}
    assert not [key for key in os.environ if key.upper() in settings_vars]


def test_a_dotenv_in_the_working_folder_is_not_read(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("FORUMQA_TOP_K=9\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert Settings().top_k == Settings.model_fields["top_k"].default
    assert Settings(_env_file=".env").top_k == 9  # the file itself is fine: it is only left out


def test_a_variable_set_by_a_test_still_counts(monkeypatch):
    monkeypatch.setenv("FORUMQA_TOP_K", "7")
    assert Settings().top_k == 7
