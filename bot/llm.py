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
The answer's sources are the ones it cites, renumbered 1.. in order of first citation, with the text's [n] to
match (also while streaming); the other retrieved documents are `also_retrieved`.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import AsyncIterator, Callable, Iterator
from functools import lru_cache
from typing import Any

import httpx
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.output_parsers import StrOutputParser

from bot.answer import Answer, AnswerRequest, cite, sources_from_hits
from bot.citations import CitationRenumberer, cited_numbers, renumber_citations
from bot.fake_chat_model import ContextEchoChatModel
from bot.llm_prompt import (
    NOT_COVERED,
    answer_prompt,
    format_context,
    neutralise,
    prompt_language,
)
from bot.numeric_guard import hit_texts, unsupported_numbers
from bot.prompt_files import render
from faults import BackendUnavailable, MissingBackend
from settings import Settings


class LLMError(RuntimeError):
    """The language model could not be set up or did not answer."""


class LLMUnavailable(LLMError, BackendUnavailable):
    """The model's server did not answer: down, timed out, overloaded or failing (5xx)."""

    backend = "language model"


@lru_cache(maxsize=1)
def client_errors() -> tuple[type[Exception], ...]:
    """What a chat model's client raises when its server fails or refuses a request: the only exceptions the
    answerer turns into LLMError (or LLMUnavailable); anything else is a bug and keeps its traceback."""
    errors: list[type[Exception]] = [httpx.HTTPError, ConnectionError, TimeoutError]
    try:
        import openai

        errors.append(openai.APIError)
    except ImportError:
        pass
    try:
        import ollama

        errors.append(ollama.ResponseError)
    except ImportError:
        pass
    return tuple(errors)


def server_fault(exc: BaseException) -> bool:
    """Whether a client error means the model's server is unavailable (rather than a bad request or a bug)."""
    if isinstance(exc, httpx.TransportError | ConnectionError | TimeoutError):
        return True
    try:
        import openai
    except ImportError:
        return False
    if isinstance(exc, openai.APIConnectionError):  # timeouts too
        return True
    return isinstance(exc, openai.APIStatusError) and (exc.status_code >= 500 or exc.status_code == 429)


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


class _StreamedAnswer:
    """What a visitor sees while the model writes: the NOT_COVERED marker held back and dropped, citations
    renumbered as cited; then the last pieces (the localized text or warnings) and the final Answer."""

    def __init__(self, answerer: LLMAnswerer, request: AnswerRequest) -> None:
        self.answerer, self.request = answerer, request
        self.marker_filter, self.citations = _MarkerFilter(), CitationRenumberer(len(request.hits))
        self.raw: list[str] = []
        self.sent = ""

    def feed(self, piece: str) -> str:
        self.raw.append(piece)
        out = self.citations.feed(self.marker_filter.feed(piece))
        if not self.sent:
            out = out.lstrip()  # as the final answer, which is stripped
        self.sent += out
        return out

    def finish(self) -> list[str | Answer]:
        out: list[str | Answer] = []
        tail = self.citations.feed(self.marker_filter.flush()) + self.citations.flush()
        if tail:
            self.sent += tail
            out.append(tail)
        answer = self.answerer.finish(self.request, "".join(self.raw))
        if not answer.answered:
            if not self.sent.strip():
                out.append(answer.answer)
        elif answer.warnings:
            out.append("\n\n" + "\n".join(answer.warnings))
        out.append(answer)
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
        message = " ".join(f"the {self.name} model {'at ' + str(where) + ' ' if where else ''}failed: {exc}".split())
        return (LLMUnavailable if server_fault(exc) else LLMError)(message)

    def not_covered(self, request: AnswerRequest) -> Answer:
        text = render("not_covered", prompt_language(request.language)).strip()
        return Answer(request.question, text, request.language, False, [])

    def finish(self, request: AnswerRequest, raw: str) -> Answer:
        """The Answer for the model's reply: marker -> not covered; unsupported figures flagged; sources split
        into the cited ones (renumbered, as are the text's markers) and the rest."""
        text = raw.strip()
        marked = NOT_COVERED in text
        text = re.sub(r"[ \t]*" + NOT_COVERED + r"[ \t.。]*", " ", text).strip() if marked else text
        cited = cited_numbers(text, len(request.hits))
        if not text or (marked and not cited):
            return self.not_covered(request)
        flagged = unsupported_numbers(text, hit_texts(request.hits), cited)  # before renumbering: hit order
        sources, also_retrieved, renumber = cite(sources_from_hits(request.hits), cited)
        text = renumber_citations(text, renumber)
        answer = Answer(request.question, text, request.language, True, sources, also_retrieved)
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
        except client_errors() as exc:  # the model did not answer
            raise self._error(exc) from exc
        return self.finish(request, raw)

    def stream(self, request: AnswerRequest) -> Iterator[str | Answer]:
        """Text pieces as the model writes them (without the NOT_COVERED marker), then the final Answer.
        When the model found no answer or figures are flagged, the localized text comes as a last piece."""
        if not request.hits:
            yield from self._without_hits(request)
            return
        state = _StreamedAnswer(self, request)
        try:
            for piece in self._chain(request.language).stream(self._variables(request)):
                if out := state.feed(piece):
                    yield out
        except client_errors() as exc:
            raise self._error(exc) from exc
        yield from state.finish()

    async def astream(self, request: AnswerRequest) -> AsyncIterator[str | Answer]:
        """stream() on the event loop: cancelling the consumer closes the model's request at once (a thread
        blocked in a read would keep the server generating for nobody)."""
        if not request.hits:
            for item in self._without_hits(request):
                yield item
            return
        state = _StreamedAnswer(self, request)
        try:
            async for piece in self._chain(request.language).astream(self._variables(request)):
                if out := state.feed(piece):
                    yield out
        except client_errors() as exc:
            raise self._error(exc) from exc
        for item in state.finish():
            yield item

    def _without_hits(self, request: AnswerRequest) -> list[str | Answer]:
        answer = self.not_covered(request)
        return [answer.answer, answer]


# --- factory ---------------------------------------------------------------------------------------------------------


def _client_class(package: str, name: str, answerer: str) -> type[BaseChatModel]:
    """The chat model class `name` of `package` (pip name), imported only once that answerer is chosen."""
    try:
        return getattr(importlib.import_module(package.replace("-", "_")), name)
    except ImportError as exc:
        message = f"answerer={answerer} needs the package {package}: pip install {package} ({exc})"
        raise MissingBackend(message) from exc


def _openai(settings: Settings, max_tokens: int | None, http_client: Any, **options: Any) -> BaseChatModel:
    chat_openai = _client_class("langchain-openai", "ChatOpenAI", "openai")
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
    return chat_openai(**kwargs, **options)


def _ollama(settings: Settings, max_tokens: int | None, http_client: Any, **options: Any) -> BaseChatModel:
    chat_ollama = _client_class("langchain-ollama", "ChatOllama", "ollama")
    kwargs: dict[str, Any] = {
        "base_url": settings.ollama_base_url, "model": settings.llm_model,
        "temperature": settings.llm_temperature, "client_kwargs": {"timeout": settings.llm_timeout_s},
    }
    if max_tokens is not None:
        kwargs["num_predict"] = max_tokens
    return chat_ollama(**kwargs, **options)


def _fake(settings: Settings, max_tokens: int | None, http_client: Any, **options: Any) -> BaseChatModel:
    return ContextEchoChatModel(**options)


# openai: any OpenAI-compatible server; ollama: Ollama's native API; fake: answers from its context (tests, demos)
CHAT_MODELS: dict[str, Callable[..., BaseChatModel]] = {"openai": _openai, "ollama": _ollama, "fake": _fake}


def make_chat_model(settings: Settings, *, max_tokens: int | None = None, http_client: Any = None,
                    **options: Any) -> BaseChatModel:
    """The chat model for settings.answerer (one of CHAT_MODELS); clients are imported only when needed.
    `http_client` (an httpx.Client) and extra `options` go to the client, e.g. to record requests in tests."""
    build = CHAT_MODELS.get(settings.answerer)
    if build is None:
        raise LLMError(f"answerer={settings.answerer!r} is not a generative answerer ({', '.join(CHAT_MODELS)})")
    return build(settings, max_tokens, http_client, **options)


def make_llm_answerer(settings: Settings, *, model: BaseChatModel | None = None, max_tokens: int | None = None,
                      http_client: Any = None, **options: Any) -> LLMAnswerer:
    """The Answerer for settings.answerer in {openai, ollama, fake}, or around a given chat model."""
    if model is None:
        max_tokens = settings.llm_max_tokens if max_tokens is None else max_tokens
        model = make_chat_model(settings, max_tokens=max_tokens, http_client=http_client, **options)
    return LLMAnswerer(settings, model)
