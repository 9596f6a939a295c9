"""The one FastAPI app: API routes, staff document routes, the widget script, and the Gradio chat at `/`."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI

from settings import Settings
from web import api, documents, widget
from web.context import build_context, warm_up_in_background
from web.errors import install_error_handlers
from web.security import RateLimiter, add_origin_policy

GRADIO_MAX_FILE_SIZE = "1mb"  # the chat takes no files; Gradio's own upload route gets a small limit
# The warm-up (building BM25 over every chunk) holds the GIL for seconds on a large store; started once the
# server listens, and a moment later, it no longer delays the first health check by ~1 s.
WARM_UP_DELAY_S = 1.0


def create_app(settings: Settings) -> FastAPI:
    """Opens the index (ingesting the sample corpus into an empty store) and wires every route."""
    import gradio as gr  # heavy: imported once the CLI has parsed its flags

    from web.chat_ui import CSS, THEME, build_chat_ui

    context = build_context(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        warm_up_in_background(context, WARM_UP_DELAY_S)
        yield

    app = FastAPI(
        lifespan=lifespan,
        title="Forum reports QA",
        summary="Questions in Chinese, Spanish or English, answered from the forum reports with their sources.",
        docs_url="/docs",
    )
    app.state.context = context
    app.state.rate_limiter = RateLimiter(settings.rate_limit)
    install_error_handlers(app)
    add_origin_policy(app, settings)
    app.include_router(api.router)
    app.include_router(documents.router)
    app.include_router(widget.router)
    # Mounted last: `/` catches every path the routes above do not serve.
    return gr.mount_gradio_app(
        app, build_chat_ui(context), path="/", theme=THEME, css=CSS, footer_links=["api"],
        max_file_size=GRADIO_MAX_FILE_SIZE, ssr_mode=False, show_error=False, run_history=False,
    )
