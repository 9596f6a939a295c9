"""Which requests count against which rate limit, decided in front of every route: one limit for every way to
ask (the API, its SSE stream, the widget, Gradio's queue and call routes) and one for the chat's votes. A
Gradio event is known by its function (`fn_index` in the body, read as Gradio reads it) and by the API name in
its path, so asking through Gradio's API costs the same as asking through /api/ask."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping

from pydantic import TypeAdapter, ValidationError
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from web.security import RateLimiter, RateLimitStoreUnavailable, client_address, session_id

log = logging.getLogger(__name__)

ASK = "ask"
VOTE = "vote"
ASK_ROUTES = frozenset({"/api/ask", "/api/chat"})
# Every Gradio route that runs an event: the browser's queue, the REST-like `call` routes and direct `run`.
_GRADIO_EVENT = re.compile(r"^/gradio_api/(?:queue/join|(?:call/v2|call|run|api)/(?P<name>[^/]+))/?$")


class InvalidFunctionIndex(ValueError):
    """An event body whose `fn_index` is no integer as Gradio reads one."""


# Gradio's PredictBody reads `fn_index` as `int | None` with pydantic: 7, 7.0, "7" and " 7 " all run function 7.
_FN_INDEX = TypeAdapter(int | None)


def function_index(body: bytes) -> int | None:
    """The `fn_index` of a Gradio event body, read as Gradio reads it; None when there is none (or no JSON
    object: Gradio refuses that itself). Raises InvalidFunctionIndex for one Gradio would not read."""
    try:
        event = json.loads(body) if body else None
    except ValueError:
        return None
    if not isinstance(event, dict):
        return None
    try:
        return _FN_INDEX.validate_python(event.get("fn_index"))
    except ValidationError:
        raise InvalidFunctionIndex("fn_index must be an integer") from None


class GradioEvents:
    """The kind (ASK, VOTE) of each rate-limited Gradio event, by function index and by API name."""

    def __init__(self, by_index: Mapping[int, str], by_name: Mapping[str, str]) -> None:
        self.by_index, self.by_name = dict(by_index), dict(by_name)

    def kinds(self, api_name: str | None, body: bytes) -> list[str]:
        """The limits an event counts against. The queue runs the indexed function and the `call` routes the
        named one, whatever the other says, so the event counts wherever either the index or the name leads."""
        found = [self.by_index.get(function_index(body)), self.by_name.get(api_name) if api_name else None]
        return list(dict.fromkeys(kind for kind in found if kind is not None))


async def _read_body(receive: Receive) -> tuple[bytes, Receive]:
    """The whole body (bounded by web.request_limits, which wraps `receive`), and a `receive` that replays it."""
    chunks: list[bytes] = []
    pending: list[Message] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            pending.append(message)  # a disconnect: the app sees it next
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    pending.insert(0, {"type": "http.request", "body": body, "more_body": False})

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    return body, replay


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, limiters: Mapping[str, RateLimiter], gradio_events: GradioEvents) -> None:
        self.app = app
        self.limiters = dict(limiters)
        self.gradio_events = gradio_events

    async def _kinds(self, scope: Scope, receive: Receive) -> tuple[list[str], Receive]:
        path = scope["path"]
        if path.rstrip("/") in ASK_ROUTES:
            return [ASK], receive
        event = _GRADIO_EVENT.match(path)
        if event is None:
            return [], receive
        body, receive = await _read_body(receive)
        return self.gradio_events.kinds(event["name"], body), receive

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            try:
                kinds, receive = await self._kinds(scope, receive)
            except InvalidFunctionIndex as exc:
                await JSONResponse({"detail": str(exc)}, status_code=422)(scope, receive, send)
                return
            for kind in kinds:
                limiter = self.limiters.get(kind)
                try:
                    wait = limiter.check(client_address(scope), session_id(Headers(scope=scope))) if limiter else None
                except RateLimitStoreUnavailable as exc:
                    log.warning("%s %s: %s", scope["method"], scope["path"], exc)
                    headers = {"Retry-After": "5", "Connection": "close"}
                    await JSONResponse({"detail": exc.public_reason}, status_code=503, headers=headers)(
                        scope, receive, send)
                    return
                if wait is not None:
                    detail, headers = limiter.refusal(wait)
                    headers["Connection"] = "close"  # the body may be unread: the connection ends with the answer
                    await JSONResponse({"detail": detail}, status_code=429, headers=headers)(scope, receive, send)
                    return
        await self.app(scope, receive, send)
