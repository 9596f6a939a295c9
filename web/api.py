"""Public HTTP API: /api/ask (one JSON answer), /api/chat (the same answer streamed as Server-Sent Events)
and /healthz. The answering code is CPU-bound and synchronous, so these are plain `def` routes (threadpool)."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import PurePath
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field, field_validator

from bot import LANG_CHOICES, Answer, Source
from faults import BackendUnavailable
from store import StoreError
from store.collections import MAX_COLLECTION_CHARS
from web.collections import Forum
from web.context import Context, WebContext
from web.security import origin_allowed
from web.ui_text import served_language_from_accept
from web.viewer import link_sources

log = logging.getLogger(__name__)

MAX_HISTORY_CONTENT_CHARS = 20_000

router = APIRouter()


class ChatTurn(BaseModel):
    role: Literal["user", "assistant"] = Field(description="Who said it.")
    content: str = Field(max_length=MAX_HISTORY_CONTENT_CHARS, description="What was said.")


class AskRequest(BaseModel):
    question: str = Field(
        description="The question, in Chinese, Spanish or English.",
        examples=["¿Cuánto alcanzó el comercio entre China y América Latina en 2024?"],
    )
    lang: Literal[LANG_CHOICES] = Field(  # "auto" and the served languages
        "auto", description="Answer language; auto answers in the question's language (Accept-Language "
                   "decides when that is ambiguous)."
    )
    history: list[ChatTurn] = Field(
        default_factory=list, max_length=200, description="Earlier messages of this conversation, oldest first."
    )
    collection: str | None = Field(
        None, max_length=MAX_COLLECTION_CHARS, description="The collection (one forum's documents) to answer from; "
        "left out: the default one. Retrieval never leaves it. One the server does not hold is a 404.",
    )

    @field_validator("lang", "history", mode="before")
    @classmethod
    def null_means_default(cls, value, info):
        if value is None:
            return "auto" if info.field_name == "lang" else []
        return value


def question_language_prior(
    accept_language: Annotated[str | None, Header(
        description="The visitor's languages (the widget sends its page language). With lang=auto, the first "
                    "of zh, es, en listed here decides the answer language when the question's own is ambiguous "
                    "(a name alone, \"OK\"); a question in a clear language is answered in that language.",
    )] = None,
) -> str | None:
    return served_language_from_accept(accept_language)


UiLanguage = Annotated[str | None, Depends(question_language_prior)]


def asked_forum(body: AskRequest, request: Request, ctx: WebContext) -> Forum:
    """The collection a question asks: 404 when the store has none of that name, 403 when the request's Origin is
    allowed to ask other collections only (settings.collections' allowed_origins). It may list the store's
    collections and open one (blocking): an async route calls it in the thread pool."""
    forum = ctx.forum(body.collection)
    origin = request.headers.get("origin")
    if origin is not None and not origin_allowed(origin, request.headers.get("host"),
                                                 ctx.settings.origins_for(forum.name)):
        raise HTTPException(403, f"requests from the origin '{origin[:200]}' may not ask the collection "
                                 f"'{forum.name}'; the site owner can allow it in FORUMQA_COLLECTIONS")
    return forum


def _history(body: AskRequest, ctx: WebContext) -> list[dict]:
    keep = ctx.settings.max_history_messages
    turns = body.history[-keep:] if keep else []
    return [turn.model_dump() for turn in turns]


@router.post(
    "/api/ask", response_model=Answer,  # body size and rate limits: web.request_limits, web.rate_limits
    summary="Answer a question with its sources",
)
def ask(body: AskRequest, request: Request, ctx: Context, ui_lang: UiLanguage) -> Answer:
    forum = asked_forum(body, request, ctx)
    answer = forum.qa.ask(body.question, body.lang, _history(body, ctx), ui_lang)
    ctx.questions.record(answer, "api", forum.name)  # the opt-in question log; never fails or waits
    return public_answer(answer, ctx.collections.link_name(forum.name))


def public_answer(answer: Answer, collection: str | None = None) -> Answer:
    """The answer as visitors get it: each source named by its file name, never by its path on the server, and
    linked to its evidence in the viewer (web.viewer), in `collection` (None: the default one)."""
    answer = link_sources(answer, collection)

    def public(source: Source) -> Source:
        return replace(source, source=PurePath(source.source).name)

    return replace(answer, sources=[public(s) for s in answer.sources],
                   also_retrieved=[public(s) for s in answer.also_retrieved])


def sse_event(event: str, data: object) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _event(piece: str | Answer, on_answer: Callable[[Answer], object] | None = None,
           collection: str | None = None) -> str:
    if isinstance(piece, Answer):
        if on_answer is not None:
            on_answer(piece)
        return sse_event("final", public_answer(piece, collection).to_dict())
    return sse_event("token", {"text": piece})


async def answer_events(first: str | Answer, pieces: AsyncIterator[str | Answer],
                        on_answer: Callable[[Answer], object] | None = None,
                        collection: str | None = None) -> AsyncIterator[str]:
    """`token` events with text pieces, then one `final` event with the whole answer (sources included, linked in
    `collection`, None for the default one), which is given to `on_answer` first. When the client goes away, the
    stream is cancelled where it waits, which closes the model's request at once."""
    try:
        yield _event(first, on_answer, collection)
        async for piece in pieces:
            yield _event(piece, on_answer, collection)
    except BackendUnavailable as exc:  # the status line is already sent: the fault travels as an event
        log.warning("streaming an answer stopped: %s", exc)
        yield sse_event("error", {"detail": exc.public_reason})
    except Exception:
        log.exception("streaming an answer failed")
        yield sse_event("error", {"detail": "the answer could not be completed; please try again"})
    finally:
        await pieces.aclose()


@router.post(
    "/api/chat",
    summary="Stream an answer as Server-Sent Events",
    response_class=StreamingResponse,
    responses={200: {
        "content": {"text/event-stream": {}},
        "description": "`event: token` with {\"text\": ...} pieces, then `event: final` with the answer JSON "
                       "(as /api/ask returns it), or `event: error` with {\"detail\": ...}.",
    }},
)
async def chat(body: AskRequest, request: Request, ctx: Context, ui_lang: UiLanguage) -> StreamingResponse:
    forum = await run_in_threadpool(asked_forum, body, request, ctx)
    forum.qa.validate(body.question, body.lang)  # bad input is a 4xx, before the stream starts
    pieces = forum.qa.astream(body.question, body.lang, _history(body, ctx), ui_lang)
    try:
        first = await anext(pieces)  # retrieval and the model's first piece: a backend fault is still a 503
    except BaseException:
        await pieces.aclose()
        raise
    return StreamingResponse(
        answer_events(first, pieces, lambda answer: ctx.questions.record(answer, "stream", forum.name),
                      ctx.collections.link_name(forum.name)),
        media_type="text/event-stream; charset=utf-8",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get("/healthz", summary="Liveness and index size, in all and per collection")
def healthz(ctx: Context):
    """A 503 only when the default collection cannot be read; another collection that cannot be opened (built
    with another embedder, say) is listed as unavailable, and the rest are counted."""
    try:
        counts = {name: _collection_counts(ctx, name) for name in ctx.collections.names()}
    except Exception as exc:
        log.warning("health check: the index cannot be read: %s", exc)
        return JSONResponse({"status": "unavailable", "detail": "the index cannot be read"}, status_code=503)
    keys = ("documents", "chunks", "provisional")
    total = {key: sum(c[key] for c in counts.values() if key in c) for key in keys}
    # warm: every collection that can be read has its lexical index for its current documents; until then
    # questions are answered without the lexical bonus (bot/retrieval.py), as just after start on a large store
    warm = all(c["lexical_index"] for c in counts.values() if "lexical_index" in c)
    return {"status": "ok", **total, "warm": warm, "collections": counts}


def _collection_counts(ctx: WebContext, name: str) -> dict:
    try:
        return _counts(ctx.collections.get(name))
    except StoreError as exc:
        if name == ctx.collections.default.name:
            raise
        log.warning("health check: the collection %s cannot be opened: %s", name, exc)
        return {"status": "unavailable", "error": type(exc).__name__}


def _counts(forum: Forum) -> dict[str, int | bool]:
    # provisional: documents searchable with their fast vectors only, waiting for `python -m ingest --refine`
    return {"documents": len(forum.index.documents(fresh=False)), "chunks": forum.index.chunk_total(),
            "provisional": len(forum.index.provisional()),
            "lexical_index": forum.qa.retriever.lexical_ready()}
