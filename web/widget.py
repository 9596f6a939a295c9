"""GET /widget.js: the embeddable chat widget, one static vanilla-JS file (web/static/widget.js), served with the
server's languages, words, limits and starter questions (each collection's) in place of its CONFIG placeholder, so
the widget repeats none of them."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import Response

from settings import Settings
from textkit.language import SERVED
from web.context import Context
from web.ui_text import DEFAULT_UI, widget_text

WIDGET_JS = Path(__file__).parent / "static" / "widget.js"
CONFIG_PLACEHOLDER = "/*SERVER_CONFIG*/null"

router = APIRouter()


def widget_config(settings: Settings) -> dict:
    return {
        "text": {lang: widget_text(lang) for lang in SERVED},
        "defaultLanguage": DEFAULT_UI,
        "maxQuestionChars": settings.max_question_chars,
        "maxHistory": settings.max_history_messages,
        "starters": settings.starter_questions,
        # the collections with starters of their own (settings.collections); data-collection picks one
        "collectionStarters": {name: settings.starters_for(name) for name, options in settings.collections.items()
                               if options.starter_questions is not None},
    }


def widget_source(settings: Settings) -> str:
    source = WIDGET_JS.read_text(encoding="utf-8")
    return source.replace(CONFIG_PLACEHOLDER, json.dumps(widget_config(settings), ensure_ascii=False), 1)


@router.get("/widget.js", include_in_schema=False)
def widget_script(ctx: Context) -> Response:
    return Response(
        widget_source(ctx.settings),
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"},
    )
