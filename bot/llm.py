"""The generative answerers: an LLM writes the answer from the numbered context, citing [n].

One answerer, three chat models behind it (settings.answerer):
  openai  any OpenAI-compatible server: OpenAI, DeepSeek, Qwen/DashScope, vLLM, llama.cpp server, Ollama's /v1
  ollama  Ollama's native API
  fake    a deterministic local model that answers from the context it is sent (tests, demos without a server)

The prompt (prompts/answer.{lang}.txt) is the system message; the user message carries the numbered documents
between <context> and </context>, then the question. Document text is data: anything in it that looks like one
of the prompt's delimiters or a chat-template control token is neutralised, so a document cannot close the
context block or open a new turn. A model that finds no answer replies NOT_COVERED, replaced by the localized
prompts/not_covered.{lang}.txt. Figures of the answer that its cited sources lack are flagged (bot.numeric_guard).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel, GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.prompts import (
    ChatPromptTemplate,
    HumanMessagePromptTemplate,
    PromptTemplate,
    SystemMessagePromptTemplate,
)
from pydantic import Field

from bot.answer import Answer, Hit, sources_from_hits
from bot.answerers import AnswerRequest
from bot.numeric_guard import cited_numbers, hit_texts, unsupported_numbers
from bot.prompt_files import language_name, load_template, render
from settings import Settings

log = logging.getLogger(__name__)

NOT_COVERED = "NOT_COVERED"
PROMPT_LANGUAGES = ("en", "es", "zh")
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


class LLMError(RuntimeError):
    """The language model could not be set up or did not answer."""


# --- prompt pieces -----------------------------------------------------------------------------------------------


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
    return language if language in PROMPT_LANGUAGES else "en"


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


# --- the fake model --------------------------------------------------------------------------------------------

_ITEM = re.compile(r"^\[(\d+)\] [^\n]*\n(.*?)(?=^\[\d+\] |\Z)", re.MULTILINE | re.DOTALL)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[。！？])")


def fake_reply(messages: Sequence[BaseMessage]) -> str:
    """What the fake model says: the first sentence of document [1] with its citation, NOT_COVERED without
    documents; for a condense prompt, the follow-up question with the conversation's last user question."""
    text = str(messages[-1].content) if messages else ""
    if "<follow_up>" in text:
        follow_up = text.split("<follow_up>", 1)[1].split("</follow_up>", 1)[0].strip()
        conversation = text.split("<conversation>", 1)[1].split("</conversation>", 1)[0] if "<conversation>" in text \
            else ""
        users = [line[len("User: "):] for line in conversation.splitlines() if line.startswith("User: ")]
        return f"{follow_up} ({users[-1]})" if users else follow_up
    context = text.split(CONTEXT_OPEN, 1)[1].rsplit(CONTEXT_CLOSE, 1)[0] if CONTEXT_OPEN in text else ""
    match = _ITEM.search(context.strip())
    if not match:
        return NOT_COVERED
    body = " ".join(match.group(2).split())
    sentence = _SENTENCE_END.split(body, maxsplit=1)[0].strip() or body[:200]
    return f"{sentence} [{match.group(1)}]"


class ContextEchoChatModel(GenericFakeChatModel):
    """langchain_core's fake chat model, answering from the prompt it gets (see fake_reply); streams by words."""

    messages: Iterator[AIMessage | str] = Field(default_factory=lambda: iter(()))

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager=None,
                  **kwargs: Any) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=fake_reply(messages)))])

    @property
    def _llm_type(self) -> str:
        return "forumqa-context-echo"


# --- streaming helper --------------------------------------------------------------------------------------------


class _MarkerFilter:
    """Passes streamed text through, holding back what may be the start of NOT_COVERED and dropping the marker."""

    def __init__(self, marker: str = NOT_COVERED) -> None:
        self.marker = marker
        self.buffer = ""

    def feed(self, piece: str) -> str:
        self.buffer = (self.buffer + piece).replace(self.marker, "")
        keep = 0
        for size in range(min(len(self.marker) - 1, len(self.buffer)), 0, -1):
            if self.marker.startswith(self.buffer[-size:]):
                keep = size
                break
        out, self.buffer = self.buffer[: len(self.buffer) - keep], self.buffer[len(self.buffer) - keep:]
        return out

    def flush(self) -> str:
        out, self.buffer = self.buffer, ""
        return out


# --- the answerer --------------------------------------------------------------------------------------------------


class LLMAnswerer:
    def __init__(self, settings: Settings, model: BaseChatModel, name: str = "") -> None:
        self.settings = settings
        self.model = model
        self.name = name or settings.answerer
        self._parser = StrOutputParser()

    def messages(self, request: AnswerRequest) -> list[BaseMessage]:
        """The messages sent for a request (for inspection and tests)."""
        return answer_prompt(request.language).format_messages(**self._variables(request))

    def _variables(self, request: AnswerRequest) -> dict[str, str]:
        question = request.standalone or request.question
        return {"context": format_context(request.hits, request.language), "question": neutralise(question)}

    def _chain(self, language: str):
        return answer_prompt(language) | self.model | self._parser

    def _error(self, exc: Exception) -> LLMError:
        where = getattr(self.model, "openai_api_base", None) or getattr(self.model, "base_url", None) or ""
        return LLMError(f"the {self.name} model {'at ' + str(where) + ' ' if where else ''}failed: {exc}")

    def not_covered(self, request: AnswerRequest) -> Answer:
        text = render("not_covered", prompt_language(request.language)).strip()
        return Answer(request.question, text, request.language, False, [])

    def finish(self, request: AnswerRequest, raw: str) -> Answer:
        """The Answer for the model's reply: marker -> not covered; unsupported figures flagged."""
        text = raw.strip()
        marked = NOT_COVERED in text
        text = re.sub(r"[ \t]*" + NOT_COVERED + r"[ \t.。]*", " ", text).strip() if marked else text
        if not text or (marked and not cited_numbers(text, len(request.hits))):
            return self.not_covered(request)
        answer = Answer(request.question, text, request.language, True, sources_from_hits(request.hits))
        flagged = unsupported_numbers(text, hit_texts(request.hits))
        if flagged:
            warning = render("unsupported_numbers", prompt_language(request.language),
                             numbers=", ".join(flagged)).strip()
            answer.unsupported_numbers = flagged
            answer.warnings.append(warning)
            answer.answer = f"{text}\n\n{warning}"
        return answer

    def answer(self, request: AnswerRequest) -> Answer:
        if not request.hits:
            return self.not_covered(request)
        try:
            raw = self._chain(request.language).invoke(self._variables(request))
        except Exception as exc:  # any client error: the model did not answer
            raise self._error(exc) from exc
        return self.finish(request, raw)

    def stream(self, request: AnswerRequest) -> Iterator[str | Answer]:
        """Text pieces as the model writes them (without the NOT_COVERED marker), then the final Answer.
        When the model found no answer or figures are flagged, the localized text comes as a last piece."""
        if not request.hits:
            answer = self.not_covered(request)
            yield answer.answer
            yield answer
            return
        marker_filter, raw, sent = _MarkerFilter(), [], ""
        try:
            for piece in self._chain(request.language).stream(self._variables(request)):
                raw.append(piece)
                out = marker_filter.feed(piece)
                if not sent:
                    out = out.lstrip()  # as the final answer, which is stripped
                if out:
                    sent += out
                    yield out
        except Exception as exc:
            raise self._error(exc) from exc
        tail = marker_filter.flush()
        if tail:
            sent += tail
            yield tail
        answer = self.finish(request, "".join(raw))
        if not answer.answered:
            if not sent.strip():
                yield answer.answer
        elif answer.warnings:
            yield "\n\n" + "\n".join(answer.warnings)
        yield answer

    def condense(self, question: str, history: list[dict], language: str) -> str:
        """A follow-up rewritten as a standalone question in its language; the question itself without history
        or when the model fails."""
        transcript = format_history(history or [])
        if not transcript:
            return question
        try:
            chain = condense_prompt(language) | self.model | self._parser
            reply = chain.invoke({
                "history": transcript, "question": neutralise(question),
                "language": language_name(prompt_language(language), "en"),
            })
        except Exception as exc:  # condensing is optional
            log.warning("condensing the question failed, using it as asked: %s", exc)
            return question
        return clean_condensed(reply, question)


# --- factory ---------------------------------------------------------------------------------------------------------


def _missing(package: str, answerer: str, exc: ImportError) -> LLMError:
    return LLMError(f"answerer={answerer} needs the package {package}: pip install {package} ({exc})")


def make_chat_model(settings: Settings, *, max_tokens: int | None = None, http_client: Any = None,
                    **options: Any) -> BaseChatModel:
    """The chat model for settings.answerer (openai, ollama, fake); clients are imported only when needed.
    `http_client` (an httpx.Client) and extra `options` go to the client, e.g. to record requests in tests."""
    kind = settings.answerer
    if kind == "openai":
        try:
            from langchain_openai import ChatOpenAI
        except ImportError as exc:
            raise _missing("langchain-openai", kind, exc) from exc
        kwargs: dict[str, Any] = {
            "base_url": settings.llm_base_url, "model": settings.llm_model,
            "api_key": settings.llm_api_key.get_secret_value() or "not-needed",
            "temperature": settings.llm_temperature, "timeout": settings.llm_timeout_s,
            # `streaming` left unset: invoke() makes one plain request, stream() a streamed one (setting it
            # False would turn stream() into a single piece, True would stream invoke() too)
        }
        if max_tokens is not None:
            kwargs["max_tokens"] = max_tokens
        if http_client is not None:
            kwargs["http_client"] = http_client
        return ChatOpenAI(**kwargs, **options)
    if kind == "ollama":
        try:
            from langchain_ollama import ChatOllama
        except ImportError as exc:
            raise _missing("langchain-ollama", kind, exc) from exc
        kwargs = {
            "base_url": settings.ollama_base_url, "model": settings.llm_model,
            "temperature": settings.llm_temperature, "client_kwargs": {"timeout": settings.llm_timeout_s},
        }
        if max_tokens is not None:
            kwargs["num_predict"] = max_tokens
        return ChatOllama(**kwargs, **options)
    if kind == "fake":
        return ContextEchoChatModel(**options)
    raise LLMError(f"answerer={kind!r} is not a generative answerer (openai, ollama, fake)")


def make_llm_answerer(settings: Settings, *, model: BaseChatModel | None = None, max_tokens: int | None = None,
                      http_client: Any = None, **options: Any) -> LLMAnswerer:
    """The Answerer for settings.answerer in {openai, ollama, fake}, or around a given chat model."""
    if model is None:
        max_tokens = settings.llm_max_tokens if max_tokens is None else max_tokens
        model = make_chat_model(settings, max_tokens=max_tokens, http_client=http_client, **options)
    return LLMAnswerer(settings, model)
