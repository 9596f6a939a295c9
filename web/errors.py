"""Bad input and busy stores become a 4xx with one clear message, an unavailable backend a 503, a request the
language model refused a 502; a stack trace is for bugs only, logged under a request id that the JSON 500 names."""

from __future__ import annotations

import logging
import re
import uuid

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from bot import InvalidQuestion, LLMError
from faults import BackendUnavailable
from store import StoreError, StoreLocked, StoreUnavailable
from store.collections import InvalidCollectionName, UnknownCollection

log = logging.getLogger(__name__)


def describe_validation_error(error: dict) -> str:
    where = ".".join(str(part) for part in error.get("loc", ()) if part != "body") or "body"
    return f"{where}: {error.get('msg', 'invalid value')}"


async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return JSONResponse({"detail": "the request body is not valid JSON"}, status_code=400)
    messages = [describe_validation_error(e) for e in errors]
    clean = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in errors]
    return JSONResponse({"detail": "; ".join(messages) or "invalid request", "errors": clean}, status_code=422)


async def invalid_question(request: Request, exc: InvalidQuestion) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=422)


async def store_error(request: Request, exc: StoreError) -> JSONResponse:
    if isinstance(exc, StoreUnavailable):
        return await backend_unavailable(request, exc)
    status = {StoreLocked: 409, UnknownCollection: 404, InvalidCollectionName: 422}.get(type(exc), 500)
    return JSONResponse({"detail": str(exc)}, status_code=status)


async def backend_unavailable(request: Request, exc: BackendUnavailable) -> JSONResponse:
    """A 503 with one line naming the backend, never its address; the log keeps where and why."""
    log.warning("%s %s: %s", request.method, request.url.path, exc)
    return JSONResponse({"detail": exc.public_reason}, status_code=503, headers={"Retry-After": "5"})


async def llm_error(request: Request, exc: LLMError) -> JSONResponse:
    """The model's server answered, but refused the request (a 4xx: a wrong key or model, a context too long)."""
    if isinstance(exc, BackendUnavailable):
        return await backend_unavailable(request, exc)
    log.error("%s %s: %s", request.method, request.url.path, exc)
    return JSONResponse({"detail": "the language model could not answer this question"}, status_code=502)


# A request id a proxy sent along is kept when it is short and plain (it goes into the log line as it is).
_FORWARDED_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def request_id(request: Request) -> str:
    forwarded = request.headers.get("x-request-id", "")
    return forwarded if _FORWARDED_REQUEST_ID.fullmatch(forwarded) else uuid.uuid4().hex[:16]


async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    """A bug: its traceback is logged under a request id, and the client gets that id in a JSON 500 (Starlette
    still re-raises the exception after this response, so the server's own error log has it too)."""
    rid = request_id(request)
    log.error("request %s: %s %s failed with a bug", rid, request.method, request.url.path, exc_info=exc)
    return JSONResponse({"detail": f"internal error (request id {rid}); please try again or report it",
                         "request_id": rid}, status_code=500, headers={"X-Request-ID": rid})


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(InvalidQuestion, invalid_question)
    app.add_exception_handler(StoreError, store_error)
    app.add_exception_handler(BackendUnavailable, backend_unavailable)
    app.add_exception_handler(LLMError, llm_error)
    app.add_exception_handler(Exception, unexpected_error)
