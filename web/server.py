"""The one FastAPI app: API routes, staff document routes, the widget script, and the Gradio chat at `/`."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from limits.storage import Storage
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from settings import Settings
from web import api, documents, insights, viewer, widget
from web.context import build_context, warm_up_in_background
from web.errors import install_error_handlers
from web.rate_limits import ASK, VOTE, GradioEvents, RateLimitMiddleware
from web.request_limits import RequestBodyLimit
from web.security import RateLimiter, add_origin_policy, open_rate_limit_storage

UPLOAD_ROUTE = ("POST", "/api/documents")
# The chat takes no files: Gradio's upload route gets no body at all (web.request_limits refuses one).
GRADIO_UPLOAD_ROUTE = ("POST", "/gradio_api/upload")
UPLOAD_FORM_OVERHEAD = 64 * 1024  # the multipart headers around the files of one upload
# The warm-up (its question, then the first lexical index) holds the GIL for seconds on a large store; started once the
# server listens, and a moment later, it no longer delays the first health check by ~1 s.
WARM_UP_DELAY_S = 1.0


def create_app(settings: Settings) -> FastAPI:
    """Opens the index (ingesting the sample corpus into an empty store) and wires every route."""
    import gradio as gr  # heavy: imported once the CLI has parsed its flags

    from web.chat_ui import CSS, THEME, build_chat_ui, gradio_events

    context = build_context(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        warm_up_in_background(context, WARM_UP_DELAY_S)
        yield
        context.questions.close()  # the question log's last entries are written before the process ends

    # /docs loads Swagger UI from the app (fastapi-offline bundles it), not from a CDN. No /redoc: ReDoc's page
    # would still fetch its logo from one.
    app = FastAPIOffline(
        lifespan=lifespan,
        title="Forum reports QA",
        summary="Questions in Chinese, Spanish or English, answered from the forum reports with their sources.",
        docs_url="/docs", redoc_url=None,
    )
    app.state.context = context
    storage = open_rate_limit_storage(settings.rate_limit_storage)
    app.state.admin_limiter = RateLimiter(settings.admin_rate_limit, storage, "attempts without the admin key")
    install_error_handlers(app)
    demo = build_chat_ui(context)
    add_request_limits(app, settings, gradio_events(demo), storage)
    add_origin_policy(app, settings)  # added after the limits, so it runs first: a 413 or a 429 carries CORS headers
    app.include_router(api.router)
    app.include_router(documents.router)
    app.include_router(widget.router)
    app.include_router(viewer.router)
    app.include_router(insights.router)
    # Mounted last: `/` catches every path the routes above do not serve.
    gr.mount_gradio_app(
        app, demo, path="/", theme=THEME, css=CSS, footer_links=["api"],
        ssr_mode=False, show_error=False, run_history=False,
    )
    return app


def add_request_limits(app: FastAPI, settings: Settings, events: GradioEvents, storage: Storage) -> None:
    """In front of every route, Gradio's included (middleware added last runs first): the client address a
    trusted proxy forwarded for, then the body limits, then the rate limits."""
    limiters = {
        ASK: RateLimiter(settings.rate_limit, storage, "questions"),
        VOTE: RateLimiter(settings.feedback_rate_limit, storage, "votes"),
    }
    app.add_middleware(RateLimitMiddleware, limiters=limiters, gradio_events=events)
    routes = {UPLOAD_ROUTE: settings.max_upload_bytes + UPLOAD_FORM_OVERHEAD, GRADIO_UPLOAD_ROUTE: 0}
    app.add_middleware(RequestBodyLimit, limit_bytes=settings.max_body_bytes, timeout_s=settings.body_timeout_s,
                       route_limits=routes, route_timeouts={UPLOAD_ROUTE: settings.upload_timeout_s})
    if settings.trusted_proxies:
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
