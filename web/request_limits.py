"""Request bodies are bounded while they are read, on every route (Gradio's included): a Content-Length over the
limit is refused at once, a chunked body as soon as its bytes pass the limit, and a body that arrives too slowly
is cut off at a deadline (a longer one for the upload). The app never holds more than the limit of one body,
nor waits on a slow client."""

from __future__ import annotations

import asyncio
import time

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyRefused(Exception):
    """Raised from `receive` once a body is too large or too slow; the middleware answers `status`."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


class _BodyReader:
    """Wraps `receive`: counts the body's bytes and applies the deadline until the last body message."""

    def __init__(self, receive: Receive, limit: int, deadline: float) -> None:
        self._receive = receive
        self.limit, self.deadline = limit, deadline
        self.received = 0
        self.complete = False
        self.refusal: BodyRefused | None = None

    async def receive(self) -> Message:
        if self.refusal is not None:
            raise self.refusal
        if self.complete:  # later calls wait for a disconnect (streaming responses): no deadline then
            return await self._receive()
        try:
            message = await asyncio.wait_for(self._receive(), max(0.0, self.deadline - time.monotonic()))
        except TimeoutError:
            raise self._refuse(408, "the request body was not received in time") from None
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit:
                raise self._refuse(413, too_large(self.limit))
            self.complete = not message.get("more_body", False)
        return message

    def _refuse(self, status: int, detail: str) -> BodyRefused:
        self.refusal = BodyRefused(status, detail)
        return self.refusal


def too_large(limit: int) -> str:
    return f"the request body is larger than {limit} bytes" if limit else "this route takes no request body"


Route = tuple[str, str]  # (method, path)


def _route(scope: Scope) -> Route:
    return scope["method"], scope["path"].rstrip("/")


def _refusal(status: int, detail: str) -> JSONResponse:
    # The rest of the body is never read, so the connection cannot carry another request.
    return JSONResponse({"detail": detail}, status_code=status, headers={"Connection": "close"})


class RequestBodyLimit:
    """`limit_bytes` for every body, `timeout_s` for the whole body to arrive; `route_limits[(method, path)]`
    and `route_timeouts[(method, path)]` where a route differs (the upload takes more, and longer)."""

    def __init__(self, app: ASGIApp, limit_bytes: int, timeout_s: float,
                 route_limits: dict[Route, int] | None = None,
                 route_timeouts: dict[Route, float] | None = None) -> None:
        self.app = app
        self.limit_bytes, self.timeout_s = limit_bytes, timeout_s
        self.route_limits = route_limits or {}
        self.route_timeouts = route_timeouts or {}

    def limit_for(self, scope: Scope) -> int:
        return self.route_limits.get(_route(scope), self.limit_bytes)

    def timeout_for(self, scope: Scope) -> float:
        return self.route_timeouts.get(_route(scope), self.timeout_s)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        length = Headers(scope=scope).get("content-length")
        if length is not None and length.strip().isdigit() and int(length) > limit:
            await _refusal(413, too_large(limit))(scope, receive, send)
            return
        reader = _BodyReader(receive, limit, time.monotonic() + self.timeout_for(scope))
        started = False

        async def send_unless_refused(message: Message) -> None:
            nonlocal started
            if reader.refusal is not None:  # the app's own reply to a body it could not finish is replaced
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, reader.receive, send_unless_refused)
        except BaseException:
            if reader.refusal is None:
                raise
        if reader.refusal is not None and not started:
            await _refusal(reader.refusal.status, reader.refusal.detail)(scope, receive, send)
