"""Answers as chat Markdown. Every piece of text from a document or a visitor is escaped, so a title or
snippet can never become markup, a link or a script (the chat also sanitizes HTML, as a second line)."""

from __future__ import annotations

import html
import re

from bot import Answer, Source
from web.ui_text import text
from web.viewer import link_sources

_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|~$:])")
_SNIPPET_CHARS = 220


def escape_markdown(value: str) -> str:
    """Literal text in Markdown: HTML characters as entities, Markdown punctuation backslash-escaped."""
    return html.escape(_MARKDOWN_SPECIALS.sub(r"\\\1", value), quote=True)


def _one_line(value: str, limit: int) -> str:
    flat = " ".join(value.split())
    return flat if len(flat) <= limit else flat[:limit].rstrip() + "…"


def render_partial(answer_text: str) -> str:
    return escape_markdown(answer_text)


def _source_label(s: Source) -> str:
    title = escape_markdown(_one_line(s.title or s.source.rsplit("/", 1)[-1], 200))
    link = f"[{title}]({s.url})" if s.url else title
    where = f", p. {int(s.page)}" if isinstance(s.page, int) else ""
    return f"{link} ({escape_markdown(s.language)}{where})"


def render_answer(answer: Answer, ui_lang: str, collection: str | None = None) -> str:
    """The answer, the sources it cites numbered as it cites them, and below a rule, in small type, the other
    documents retrieval found (titles only, unnumbered, so they never read as citations). Each title links to
    its evidence in the viewer (in `collection`, None for the default one)."""
    answer = link_sources(answer, collection)
    parts = [escape_markdown(answer.answer)]
    if answer.sources:
        lines = [f"**{text(ui_lang, 'sources')}**", ""]
        for s in answer.sources:
            snippet = escape_markdown(_one_line(s.snippet, _SNIPPET_CHARS))
            lines.append(f"{int(s.n)}. {_source_label(s)}  \n   *{snippet}*")
            lines.append("")
        parts.append("\n".join(lines).rstrip())
    if answer.also_retrieved:
        others = " · ".join(_source_label(s) for s in answer.also_retrieved)
        parts.append(f"---\n\n*{text(ui_lang, 'also_retrieved')}:* {others}")
    return "\n\n".join(parts)


def message_text(message: dict | str | list | None) -> str:
    """The text of a chat message, whatever shape the chat component gives it (str, parts, dict)."""
    if message is None:
        return ""
    if isinstance(message, str):
        return message
    if isinstance(message, list):
        return " ".join(message_text(part) for part in message).strip()
    if isinstance(message, dict):
        if message.get("type") == "text" or "text" in message:
            return str(message.get("text", ""))
        return message_text(message.get("content"))
    return str(message)
