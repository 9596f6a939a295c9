"""The question-answering chain (LCEL): language -> standalone question -> retrieval -> answer with sources."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator

import numpy as np
from langchain_core.runnables import Runnable, RunnableLambda

from bot.answer import Answer, Answerer, AnswerRequest
from bot.answerers import make_answerer, make_condenser
from bot.condense import Condenser
from bot.retrieval import HybridRetriever
from settings import Settings
from store import ChromaIndex
from textkit.language import SERVED, detect_question_language
from textkit.tokens import tokenize


class InvalidQuestion(ValueError):
    """An empty, oversized or otherwise unusable question."""


LANG_CHOICES = ("auto", *SERVED)


def is_text(value: str) -> bool:
    """Whether a string is valid Unicode text: JSON's "\\ud800" decodes to a lone surrogate, which no encoder
    and no tokenizer accepts."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _assign(key: str, step: Callable[[dict], object]) -> Runnable:
    """A chain step that adds `key` to the state. Unlike RunnablePassthrough.assign it runs in the caller's
    thread: assign submits each step to a thread pool, which cost about 1 ms a step per question."""
    return RunnableLambda(lambda x: {**x, key: step(x)}, name=key)


class ForumQA:
    def __init__(self, settings: Settings, index: ChromaIndex, answerer: Answerer | None = None,
                 condenser: Condenser | None = None) -> None:
        """`answerer` and `condenser` default to settings.answerer's (bot.answerers.ANSWERERS)."""
        self.settings = settings
        self.index = index
        self.retriever = HybridRetriever(index, settings)
        self.answerer = answerer or make_answerer(settings, index.embedder)
        self.condenser = condenser or make_condenser(settings, self.answerer)
        self.chain = self._build_chain()

    def _build_chain(self) -> Runnable:
        return (
            _assign("language", self._language)
            | _assign("standalone", self._standalone)
            | _assign("query_vector", lambda x: self.index.embedder.embed_query_array(x["standalone"], x["language"]))
            | _assign("hits", self._retrieve)
            | _assign("term_weights", lambda x: self.retriever.term_weights(x["question"], x["language"]))
            | RunnableLambda(self._request)
        )

    def validate(self, question: str, lang: str = "auto") -> str:
        if not isinstance(question, str) or not question.strip():
            raise InvalidQuestion("the question is empty")
        if not is_text(question):
            raise InvalidQuestion("the question is not valid Unicode text (it holds a lone surrogate)")
        if len(question) > self.settings.max_question_chars:
            raise InvalidQuestion(
                f"the question has {len(question)} characters; the limit is {self.settings.max_question_chars}"
            )
        words = len(tokenize(question, drop_stopwords=False))
        if words > self.settings.max_question_tokens:
            raise InvalidQuestion(
                f"the question has {words} words; the limit is {self.settings.max_question_tokens}"
            )
        if lang not in LANG_CHOICES:
            raise InvalidQuestion(f"lang must be one of {', '.join(LANG_CHOICES)}")
        return " ".join(question.split())

    def _language(self, x: dict) -> str:
        """An explicit lang wins; else the question's language, the UI's language deciding ambiguous text."""
        if x.get("lang") in SERVED:
            return x["lang"]
        return detect_question_language(x["question"], prior=x.get("ui_lang"))

    def _standalone(self, x: dict) -> str:
        if not x.get("history"):
            return x["question"]
        return self.condenser(x["question"], x["history"], x["language"])

    def _retrieve(self, x: dict):
        hits = self.retriever.retrieve(x["standalone"], x["language"], x["query_vector"].tolist())
        if hits and x["standalone"] != x["question"]:
            # a follow-up: the conversation found the document, the follow-up itself finds the passage in it
            own = self.index.embedder.embed_query_array(x["question"], x["language"])
            self.retriever.add_passages(hits[0], own.tolist())
        return hits

    @staticmethod
    def _request(x: dict) -> AnswerRequest:
        return AnswerRequest(
            question=x["question"], standalone=x["standalone"], language=x["language"], hits=x["hits"],
            query_vector=np.asarray(x["query_vector"]), history=x.get("history") or [],
            term_weights=x["term_weights"],
        )

    def prepare(self, question: str, lang: str = "auto", history: list[dict] | None = None,
                ui_lang: str | None = None) -> AnswerRequest:
        """`ui_lang`: the visitor's interface language (zh/es/en, or None), used with lang=auto only, when the
        question's own language is ambiguous (a name alone, "OK")."""
        clean = self.validate(question, lang)
        if not all(is_text(str(turn.get("content", ""))) for turn in history or []):
            raise InvalidQuestion("the history is not valid Unicode text (it holds a lone surrogate)")
        self.index.follow_commits()  # a document added or removed by any writer counts from this question on
        return self.chain.invoke({"question": clean, "lang": lang, "history": history or [], "ui_lang": ui_lang})

    def ask(self, question: str, lang: str = "auto", history: list[dict] | None = None,
            ui_lang: str | None = None) -> Answer:
        return self.answerer.answer(self.prepare(question, lang, history, ui_lang))

    def stream(self, question: str, lang: str = "auto", history: list[dict] | None = None,
               ui_lang: str | None = None) -> Iterator[str | Answer]:
        """Text pieces, then the final Answer (with sources)."""
        yield from self.answerer.stream(self.prepare(question, lang, history, ui_lang))

    async def astream(self, question: str, lang: str = "auto", history: list[dict] | None = None,
                      ui_lang: str | None = None) -> AsyncIterator[str | Answer]:
        """stream() for an event loop: retrieval runs in a thread; an answerer that streams asynchronously (the
        LLM) does so on the loop, so a consumer that goes away cancels the model's request at once."""
        request = await asyncio.to_thread(self.prepare, question, lang, history, ui_lang)
        astream = getattr(self.answerer, "astream", None)
        if astream is None:  # the extractive answer is computed whole anyway
            pieces = await asyncio.to_thread(list, self.answerer.stream(request))
            for piece in pieces:
                yield piece
            return
        async for piece in astream(request):
            yield piece
