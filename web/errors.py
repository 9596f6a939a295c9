"""Bad input and busy stores become a 4xx with one clear message, an unavailable backend a 503; a stack trace is
for bugs only."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from bot import InvalidQuestion
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


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(InvalidQuestion, invalid_question)
    app.add_exception_handler(StoreError, store_error)
    app.add_exception_handler(BackendUnavailable, backend_unavailable)
