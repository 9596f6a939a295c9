"""Follow-ups without a generative model: an elliptical question ("¿Y la inversión acumulada?", "他提到了哪些挑战？",
"What did he say about…") is asked together with the visitor's previous question, so that retrieval finds the
documents of the conversation and the answer stays on its subject."""

from __future__ import annotations

import re

from textkit.tokens import tokenize

_MAX_CONTENT_TOKENS = 3  # "¿Qué desafíos mencionó?" is elliptical; a full question names its subject
_REFERS_BACK = re.compile(
    r"^\s*[¿¡]?\s*(and|what about|how about|y|e|pero)\b|"
    r"\b(he|she|they|him|his|her|them|their|él|ella|ellos|ellas)\b|"
    r"^\s*¿?\s*(qué|cómo|cuándo|dónde)\s+(dijo|dijeron|mencionó|destacó|señaló|propuso|afirmó|añadió|opina|"
    r"opinó|piensa|cree|explicó|subrayó|recomendó)\s*(sobre|acerca|de|del|\?|$)|"  # "¿Qué dijo sobre…?": no subject
    r"^\s*(那|还有|另外|此外|其(?!他)|该)|(?<!其)[他她]们?|呢[？?]?\s*$",
    re.IGNORECASE,
)
_NAMES_ITS_SUBJECT = re.compile(r"\d|\S\s+[A-ZÁÉÍÓÚÑ][a-záéíóúñ]+")  # a figure, or a name inside the sentence


_QUOTE = re.compile(r"“([^”]{20,})”")


def previous_quotes(history: list[dict]) -> list[str]:
    """What the previous answer quoted from the documents (the offline answerer quotes verbatim in “…”)."""
    answer = next((turn["content"] for turn in reversed(history) if turn.get("role") == "assistant"), "")
    return _QUOTE.findall(answer or "")


def previous_question(history: list[dict]) -> str | None:
    return next((turn["content"] for turn in reversed(history) if turn.get("role") == "user"), None)


def is_elliptical(question: str, language: str) -> bool:
    if _REFERS_BACK.search(question):
        return True
    return len(tokenize(question, language)) <= _MAX_CONTENT_TOKENS and not _NAMES_ITS_SUBJECT.search(question)


def follow_up_query(question: str, history: list[dict], language: str) -> str:
    """The question to retrieve with: the question itself, or the previous one and this one together."""
    previous = previous_question(history)
    if previous and previous.strip() != question.strip() and is_elliptical(question, language):
        return f"{previous.strip()} {question}"
    return question
