"""Prompt templates as files in prompts/, per language where the wording differs (name.zh.txt) or shared
(name.txt). Loading checks the placeholders, so a template that lost a variable fails at start-up."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from langchain_core.prompts import PromptTemplate

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"


class PromptFileError(RuntimeError):
    pass


@lru_cache(maxsize=64)
def load_template(name: str, language: str, variables: frozenset[str] = frozenset()) -> PromptTemplate:
    path = PROMPTS_DIR / f"{name}.{language}.txt"
    if not path.exists():
        path = PROMPTS_DIR / f"{name}.txt"
    if not path.exists():
        raise PromptFileError(f"no prompt file {name}.{language}.txt or {name}.txt in {PROMPTS_DIR}")
    template = PromptTemplate.from_template(path.read_text(encoding="utf-8"))
    found = set(template.input_variables)
    if found != set(variables):
        raise PromptFileError(
            f"{path.name}: expected placeholders {sorted(variables)}, found {sorted(found)}"
        )
    return template


def render(name: str, language: str, **values: str) -> str:
    return load_template(name, language, frozenset(values)).format(**values)


@lru_cache(maxsize=1)
def language_names() -> dict[str, dict[str, str]]:
    return json.loads((PROMPTS_DIR / "language_names.json").read_text(encoding="utf-8"))


def language_name(language: str, in_language: str) -> str:
    names = language_names().get(in_language, language_names()["en"])
    return names.get(language, names["other"])
