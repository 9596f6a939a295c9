"""Who may call the API: browser origins (CORS plus an explicit Origin check), rate limits per client address
and per widget session (web.rate_limits decides which requests count), and the admin API key that guards the
staff document routes, with a limit on attempts without it."""

from __future__ import annotations

import math
import re
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from fastapi import FastAPI, HTTPException, Request
from fastapi.middleware.cors import CORSMiddleware
from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from faults import BackendUnavailable
from settings import Settings

SESSION_HEADER = "X-Session-Id"
_SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{8,128}$")
# A shared store is one network hop away: a request waits this long at most before it is refused with a 503.
_SHARED_STORAGE_TIMEOUT_S = 1.0
_REDIS_SCHEMES = ("redis", "rediss", "redis+unix", "redis+cluster", "redis+sentinel", "valkey", "valkeys")


def _normalize_origin(origin: str) -> str:
    return origin.strip().rstrip("/").lower()


def is_api_path(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


def checks_origin(path: str) -> bool:
    """Whether a request to `path` must come from an allowed origin: the API, and Gradio's API (the chat page's
    own requests are same-origin), so another site's page cannot ask through the chat's routes either."""
    return is_api_path(path) or path == "/gradio_api" or path.startswith("/gradio_api/")


def origin_allowed(origin: str, host: str | None, allowed: list[str] | set[str]) -> bool:
    """Whether a browser request from `origin` may be served: an allowed origin ("*" allows any), or this server
    itself (the Host the request came to)."""
    normalized, allowed = _normalize_origin(origin), {_normalize_origin(o) for o in allowed}
    if "*" in allowed or normalized in allowed:
        return True
    return bool(host) and normalized != "null" and urlsplit(normalized).netloc == host.lower()


class OriginCheckMiddleware:
    """Refuses /api and /gradio_api requests whose Origin header is neither this server nor an allowed origin (403).

    CORS alone only stops a browser from *reading* a response; this stops the request from being served. An origin
    allowed for one collection only (settings.collections) passes here; the routes that ask check the collection."""

    def __init__(self, app: ASGIApp, allowed_origins: list[str]) -> None:
        self.app = app
        self.allowed = {_normalize_origin(o) for o in allowed_origins}

    def allows(self, origin: str, host: str | None) -> bool:
        return origin_allowed(origin, host, self.allowed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and checks_origin(scope["path"]):
            headers = Headers(scope=scope)
            origin = headers.get("origin")
            if origin is not None and not self.allows(origin, headers.get("host")):
                response = JSONResponse(
                    {"detail": f"requests from the origin '{origin[:200]}' are not allowed; the site owner "
                               "can add it to the allowed origins (FORUMQA_ALLOWED_ORIGINS)"},
                    status_code=403,
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def add_origin_policy(app: FastAPI, settings: Settings) -> None:
    # Added last = runs first: the Origin check sees a request before CORS answers its preflight.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.every_allowed_origin,
        allow_methods=["GET", "POST", "OPTIONS"],
        allow_headers=["Content-Type", SESSION_HEADER],
        expose_headers=["Retry-After"],
        max_age=600,
    )
    app.add_middleware(OriginCheckMiddleware, allowed_origins=settings.every_allowed_origin)


class RateLimitStoreUnavailable(BackendUnavailable):
    """The shared rate-limit storage (settings.rate_limit_storage, e.g. Redis) did not answer."""

    backend = "rate-limit store"


def open_rate_limit_storage(uri: str) -> Storage:
    """The `limits` storage named by settings.rate_limit_storage. A Redis one gets short socket timeouts (a query
    string in the URI may set others), so a Redis that hangs costs a request one second, not forever."""
    options = {}
    if uri.split("://", 1)[0].lower() in _REDIS_SCHEMES:
        options = {"socket_timeout": _SHARED_STORAGE_TIMEOUT_S, "socket_connect_timeout": _SHARED_STORAGE_TIMEOUT_S}
    return storage_from_string(uri, **options)


class RateLimiter:
    """A limit such as "30/minute" or "30/minute;300/hour", counted per client address and per session id in a
    `limits` storage: in memory by default, shared by every limiter of the app (settings.rate_limit_storage).

    When a shared storage fails, `check` and `spent` raise RateLimitStoreUnavailable (a 503): requests are not
    served uncounted, since that would lift the limit on admin-key guesses for as long as the storage is down."""

    def __init__(self, limit: str, storage: Storage | None = None, counts: str = "questions") -> None:
        self.items: list[RateLimitItem] = parse_many(limit)
        self.storage = storage or MemoryStorage()
        self.strategy = MovingWindowRateLimiter(self.storage)
        self.counts = counts  # what is counted: named in the 429's message, and the keys' namespace

    def check(self, client_ip: str, session_id: str | None = None) -> float | None:
        """Count one request; None when allowed, else the seconds to wait before the next one."""
        keys = [("ip", client_ip)] + ([("session", session_id)] if session_id else [])
        with self._storage_faults():
            for item in self.items:
                for kind, value in keys:
                    if not self.strategy.hit(item, self.counts, kind, value):
                        return self._wait(item, kind, value)
        return None

    def spent(self, client_ip: str) -> float | None:
        """Like `check`, without counting: None while the address has requests left."""
        with self._storage_faults():
            for item in self.items:
                if not self.strategy.test(item, self.counts, "ip", client_ip):
                    return self._wait(item, "ip", client_ip)
        return None

    @contextmanager
    def _storage_faults(self) -> Iterator[None]:
        # Memory counts cannot be unavailable (and its base_exceptions, ValueError, would hide a bug).
        faults = () if isinstance(self.storage, MemoryStorage) else (StorageError, self.storage.base_exceptions)
        try:
            yield
        except faults as exc:
            raise RateLimitStoreUnavailable(f"rate-limit storage {type(self.storage).__name__}: {exc}") from exc

    def _wait(self, item: RateLimitItem, kind: str, value: str) -> float:
        reset = self.strategy.get_window_stats(item, self.counts, kind, value).reset_time
        return max(1.0, reset - time.time())

    def refusal(self, wait: float) -> tuple[str, dict[str, str]]:
        """The 429's message and headers."""
        seconds = math.ceil(wait)
        detail = f"too many {self.counts}: the limit is {self.items[0]}; try again in {seconds} s"
        return detail, {"Retry-After": str(seconds)}


def session_id(headers: Headers) -> str | None:
    """The widget's session id; a malformed one is ignored (the per-address limit still applies)."""
    session = headers.get(SESSION_HEADER)
    return session if session is not None and _SESSION_ID.match(session) else None


def presented_api_key(request: Request) -> str | None:
    key = request.headers.get("x-api-key")
    if key:
        return key
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def client_address(scope: Scope) -> str:
    """The peer's address, or the client's as a trusted proxy reported it (settings.trusted_proxies)."""
    client = scope.get("client")
    return client[0] if client else "unknown"


def check_admin_key(settings: Settings, request: Request, failures: RateLimiter | None = None) -> None:
    """404 when no admin key is configured (the staff routes are off), 401 without a key, 403 with a wrong one;
    429, whatever key comes, once the client is over the limit of attempts without the right key (`failures`)."""
    expected = settings.admin_api_key.get_secret_value() if settings.admin_api_key else ""
    if not expected:
        raise HTTPException(404, "Not Found")
    given = presented_api_key(request)
    valid = given is not None and secrets.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))
    if failures is not None:
        # An attempt without the key is counted before it is judged (one atomic hit), so parallel guesses
        # cannot all pass a check made before any of them is counted; the right key is only tested.
        address = client_address(request.scope)
        wait = failures.spent(address) if valid else failures.check(address)
        if wait is not None:
            detail, headers = failures.refusal(wait)
            raise HTTPException(429, detail, headers=headers)
    if given is None:
        raise HTTPException(
            401, "this endpoint needs the admin API key (header X-API-Key or Authorization: Bearer)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not valid:
        raise HTTPException(403, "the API key is not valid")
