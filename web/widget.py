"""GET /widget.js: the embeddable chat widget, one static vanilla-JS file (web/static/widget.js)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import Response

WIDGET_JS = Path(__file__).parent / "static" / "widget.js"

router = APIRouter()


@router.get("/widget.js", include_in_schema=False)
def widget_script() -> Response:
    return Response(
        WIDGET_JS.read_bytes(),
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"},
    )
