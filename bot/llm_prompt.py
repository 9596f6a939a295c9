"""The generative answerer's messages: system prompt per language, numbered context between delimiters,
conversation history for the condenser. Document text is data: anything in it that looks like one of the
delimiters or a chat-template control token is neutralised, so a document cannot close the context block."""

from __future__ import annotations

import re
from collections.abc import Sequence

from langchain_core.prompts import (
    ChatPromptTemplate,
    HumanMessagePromptTemplate,
    PromptTemplate,
    SystemMessagePromptTemplate,
)

from bot.answer import Hit
from bot.prompt_files import language_name, load_template
from textkit.language import SERVED

NOT_COVERED = "NOT_COVERED"
MAX_SOURCE_CHARS = 2400  # of one document's chunks in the context
HISTORY_TURNS = 6  # messages of the conversation shown to the condenser
HISTORY_CHARS = 600  # of each of them

# The user message: structure only (its wording lives in the system prompt, prompts/answer.{lang}.txt).
USER_TEMPLATE = "<context>\n{context}\n</context>\n\n<question>\n{question}\n</question>"
CONTEXT_OPEN, CONTEXT_CLOSE = "<context>", "</context>"

_DELIMITER = re.compile(
    r"<\s*/?\s*(?:context|question|conversation|follow_up|document|documents|system|user|assistant|instructions?)"
    r"\b[^<>\n]*>?",
    re.IGNORECASE,
)
_CONTROL_TOKEN = re.compile(r"<\|[^|<>\n]{0,40}\|>|<\||\|>|\[/?INST\]|<</?SYS>>|<start_of_turn>|<end_of_turn>")
_BRACKET_NUMBER = re.compile(r"\[(\d{1,3})\]")






def neutralise(text: str) -> str:
    """Data for the prompt: delimiters and chat-template control tokens lose their angle brackets
    ("</context>" becomes "‹/context›"), bracketed numbers become (n) so only our [n] are citations,
    and the NOT_COVERED marker is split."""
    text = _DELIMITER.sub(lambda m: m.group(0).replace("<", "‹").replace(">", "›"), text)
    text = _CONTROL_TOKEN.sub(lambda m: m.group(0).replace("<", "‹").replace(">", "›").replace("[", "(")
                              .replace("]", ")"), text)
    text = _BRACKET_NUMBER.sub(r"(\1)", text)
    return text.replace(NOT_COVERED, "NOT COVERED")


def prompt_language(language: str) -> str:
    return language if language in SERVED else "en"


def _source_text(hit: Hit) -> str:
    parts, used = [], 0
    for text in [hit.text, *hit.extra_texts]:
        text = text.strip()
        if not text or text in parts:
            continue
        if used + len(text) > MAX_SOURCE_CHARS:
            if not parts:
                parts.append(text[:MAX_SOURCE_CHARS].rstrip() + "…")
            break
        parts.append(text)
        used += len(text)
    return "\n…\n".join(parts)


def format_context(hits: Sequence[Hit], language: str) -> str:
    """The numbered documents, [1] title (language) then text, every piece neutralised."""
    template = load_template("context_item", prompt_language(language), frozenset({"n", "title", "language", "text"}))
    items = []
    for n, hit in enumerate(hits, start=1):
        meta = hit.metadata or {}
        title = meta.get("title") or meta.get("source") or "?"
        section = meta.get("section") or ""
        if section and section != title:
            title = f"{title} — {section}"
        items.append(template.format(
            n=n, title=neutralise(" ".join(title.split())), language=language_name(hit.language, language),
            text=neutralise(_source_text(hit)),
        ))
    return "\n\n".join(items)


def answer_prompt(language: str) -> ChatPromptTemplate:
    system = load_template("answer", prompt_language(language))
    return ChatPromptTemplate.from_messages([
        SystemMessagePromptTemplate(prompt=system),
        HumanMessagePromptTemplate(prompt=PromptTemplate.from_template(USER_TEMPLATE)),
    ])


def condense_prompt(language: str) -> ChatPromptTemplate:
    template = load_template("condense", prompt_language(language), frozenset({"history", "question", "language"}))
    return ChatPromptTemplate.from_messages([HumanMessagePromptTemplate(prompt=template)])


def format_history(history: Sequence[dict]) -> str:
    """Conversation turns as 'User: …' / 'Assistant: …' lines; accepts {role, content} messages (OpenAI/Gradio)
    and {question, answer} or {user, assistant} pairs."""
    lines: list[str] = []
    for turn in history:
        if not isinstance(turn, dict):
            continue
        if "role" in turn:
            pairs = [(turn.get("role"), turn.get("content"))]
        else:
            pairs = [("user", turn.get("question", turn.get("user"))),
                     ("assistant", turn.get("answer", turn.get("assistant")))]
        for role, content in pairs:
            if isinstance(content, dict):
                content = content.get("answer") or content.get("text")
            if not isinstance(content, str) or not content.strip() or role not in ("user", "assistant"):
                continue
            content = " ".join(content.split())
            if len(content) > HISTORY_CHARS:
                content = content[:HISTORY_CHARS].rstrip() + "…"
            lines.append(f"{'User' if role == 'user' else 'Assistant'}: {neutralise(content)}")
    return "\n".join(lines[-HISTORY_TURNS:])


_CONDENSED_PREFIX = re.compile(
    r"^\s*(?:standalone question|question|rewritten question|pregunta(?: independiente| reformulada)?|"
    r"独立问题|问题|改写后的问题)\s*[:：]\s*",
    re.IGNORECASE,
)


def clean_condensed(text: str, question: str) -> str:
    """The model's standalone question, or the original question when the reply is unusable."""
    text = re.sub(r"</?\s*(?:follow_up|question|conversation)\s*>", "", text or "", flags=re.IGNORECASE)
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return question
    line = _CONDENSED_PREFIX.sub("", lines[0]).strip().strip("\"'“”«»「」").strip()
    if not line or NOT_COVERED in line or len(line) > max(3 * len(question), len(question) + 300):
        return question
    if line.endswith((":", "：")):  # a preamble ("The standalone question is:") with nothing after it
        return question
    return line
