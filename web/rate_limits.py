"""Which requests count against which rate limit, decided in front of every route: one limit for every way to
ask (the API, its SSE stream, the widget, Gradio's queue and call routes) and one for the chat's votes. A
Gradio event is known by its function (`fn_index` in the body, else the API name in the path), so asking
through Gradio's API costs the same as asking through /api/ask."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from web.security import RateLimiter, client_address, session_id

ASK = "ask"
VOTE = "vote"
ASK_ROUTES = frozenset({"/api/ask", "/api/chat"})
# Every Gradio route that runs an event: the browser's queue, the REST-like `call` routes and direct `run`.
_GRADIO_EVENT = re.compile(r"^/gradio_api/(?:queue/join|(?:call/v2|call|run|api)/(?P<name>[^/]+))/?$")


class GradioEvents:
    """The kind (ASK, VOTE) of each rate-limited Gradio event, by function index and by API name."""

    def __init__(self, by_index: Mapping[int, str], by_name: Mapping[str, str]) -> None:
        self.by_index, self.by_name = dict(by_index), dict(by_name)

    def kind(self, api_name: str | None, body: bytes) -> str | None:
        try:
            fn_index = json.loads(body).get("fn_index") if body else None
        except (ValueError, AttributeError):
            fn_index = None  # not an event body: Gradio refuses it itself
        if isinstance(fn_index, int) and not isinstance(fn_index, bool):
            return self.by_index.get(fn_index)  # Gradio runs the indexed function, whatever the path names
        return self.by_name.get(api_name) if api_name else None


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

    async def _kind(self, scope: Scope, receive: Receive) -> tuple[str | None, Receive]:
        path = scope["path"]
        if path.rstrip("/") in ASK_ROUTES:
            return ASK, receive
        event = _GRADIO_EVENT.match(path)
        if event is None:
            return None, receive
        body, receive = await _read_body(receive)
        return self.gradio_events.kind(event["name"], body), receive

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            kind, receive = await self._kind(scope, receive)
            limiter = self.limiters.get(kind) if kind else None
            if limiter is not None:
                wait = limiter.check(client_address(scope), session_id(Headers(scope=scope)))
                if wait is not None:
                    detail, headers = limiter.refusal(wait)
                    headers["Connection"] = "close"  # the body may be unread: the connection ends with the answer
                    await JSONResponse({"detail": detail}, status_code=429, headers=headers)(scope, receive, send)
                    return
        await self.app(scope, receive, send)
