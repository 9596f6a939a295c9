"""One place per fact: the backends a setting may name are the registries' keys, and the settings, the CLIs and
the README all follow them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.__main__ import parse_args as bot_args
from bot.answerers import ANSWERERS
from ingest.__main__ import parse_args as ingest_args
from settings import ANSWERER_NAMES, Settings
from store.embedders import EMBEDDERS

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def readme_row(variable: str) -> str:
    return next(line for line in README.splitlines() if line.startswith(f"| `{variable}`"))


@pytest.mark.parametrize(("setting", "registry", "variable"), [
    ("embedder", EMBEDDERS, "FORUMQA_EMBEDDER"), ("answerer", ANSWERERS, "FORUMQA_ANSWERER"),
])
def test_a_backend_setting_accepts_the_registry_names_only_and_the_readme_lists_them(setting, registry, variable):
    for name in registry:
        assert getattr(Settings(_env_file=None, **{setting: name}), setting) == name
    with pytest.raises(ValidationError, match="is not one of"):
        Settings(_env_file=None, **{setting: "no-such-backend"})
    assert set(re.findall(r"`([a-z0-9+]+)`", readme_row(variable))) >= set(registry)


def test_the_default_backends_are_registry_names():
    assert Settings.model_fields["embedder"].default in EMBEDDERS
    assert Settings.model_fields["answerer"].default in ANSWERERS


def test_the_settings_light_list_of_answerers_is_the_registrys():
    assert list(ANSWERER_NAMES) == list(ANSWERERS)  # settings.py validates without importing bot/


def test_the_clis_offer_the_registry_names():
    for name in EMBEDDERS:
        assert ingest_args(["--embedder", name, "x"]).embedder == name
        assert bot_args(["ask", "--embedder", name, "q"]).embedder == name
    for name in ANSWERERS:
        assert bot_args(["ask", "--answerer", name, "q"]).answerer == name
    with pytest.raises(SystemExit):
        bot_args(["ask", "--answerer", "no-such-backend", "q"])
