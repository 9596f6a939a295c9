"""GET /admin/insights (admin key): the editors' report of bot.insights as a page, with a chart of the questions
and the answered rate per day drawn here as inline SVG (no script, no library, nothing loaded from elsewhere),
or as JSON with ?format=json. A browser can open it: the admin key is also taken as the password of HTTP Basic
authentication, which the browser asks for after the 401."""

from __future__ import annotations

import base64
import binascii
import html
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse

from bot.insights import InsightReport, InvalidSince, build_report, parse_since
from bot.topics import topic_threshold
from store import QuestionLogUnavailable
from store.collections import MAX_COLLECTION_CHARS
from store.question_log import open_question_log
from web.context import Context
from web.insights_chart import daily_chart
from web.security import check_admin_key
from web.viewer import csp_hash

TOPIC_EXAMPLES = 8
_STYLE = ("body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:0 auto;padding:1rem 1.25rem;color:#1f2328}"
          "h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:1.75rem}table{border-collapse:collapse;width:100%}"
          "th,td{text-align:left;padding:.25rem .5rem;border-bottom:1px solid #d0d7de;vertical-align:top}"
          "td.n{text-align:right;white-space:nowrap}.muted{color:#59636e}svg{max-width:100%;height:auto}"
          "li{margin:.35rem 0}")


# The page's one style sheet by hash, no script at all; the form only reloads this page with another `since`.
_HEADERS = {
    "Content-Security-Policy": f"default-src 'none'; style-src {csp_hash(_STYLE)}; base-uri 'none'; "
                               "form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

router = APIRouter()


def _basic_password_as_key(request: Request) -> Request:
    """The request with an HTTP Basic password in X-API-Key, so check_admin_key judges it like any key."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return request
    try:
        password = base64.b64decode(token.strip(), validate=True).decode("utf-8").partition(":")[2]
    except (binascii.Error, UnicodeDecodeError):
        return request
    headers = [(k, v) for k, v in request.scope["headers"] if k not in (b"authorization", b"x-api-key")]
    return Request({**request.scope, "headers": [*headers, (b"x-api-key", password.encode("utf-8"))]})


def require_admin_page(request: Request, ctx: Context) -> None:
    try:
        check_admin_key(ctx.settings, _basic_password_as_key(request), request.app.state.admin_limiter)
    except HTTPException as exc:
        if exc.status_code == 401:  # a browser asks for the key (as the password) on a Basic challenge
            exc.headers = {"WWW-Authenticate": 'Basic realm="forumqa insights", charset="UTF-8"'}
        raise


def insight_report(ctx: Context, since: str, collection: str | None = None) -> InsightReport:
    start = parse_since(since)
    question_log = ctx.questions.log or open_question_log(ctx.settings)
    try:
        entries = question_log.entries(start)
    finally:
        if question_log is not ctx.questions.log:
            question_log.close()
    return build_report(entries, ctx.index.embedder, topic_threshold(ctx.settings), start, collection=collection)


@router.get("/admin/insights", dependencies=[Depends(require_admin_page)], include_in_schema=False)
def insights(ctx: Context, since: Annotated[str, Query(max_length=20)] = "30d",
             collection: Annotated[str | None, Query(max_length=MAX_COLLECTION_CHARS)] = None,
             format: Literal["html", "json"] = "html"):  # noqa: A002 - the query parameter's name
    try:
        report = insight_report(ctx, since, collection or None)
    except InvalidSince as exc:
        raise HTTPException(422, str(exc)) from exc
    except QuestionLogUnavailable as exc:  # the database is down or unreadable: say so, not a bare 500
        cause = type(exc.__cause__ or exc).__name__  # the driver's error, not its message (it may name the host)
        raise HTTPException(503, f"the question log cannot be read: {cause}") from exc
    if format == "json":
        return JSONResponse(report.to_dict(), headers={"Cache-Control": "no-store"})
    return HTMLResponse(render_page(report, since, ctx.settings.question_log), headers=_HEADERS)


def _percent(rate: float | None) -> str:
    return "–" if rate is None else f"{rate:.0%}"


def _rows(cells: list[list[str]]) -> str:
    return "".join("<tr>" + "".join(cells_html) + "</tr>" for cells_html in cells)


def render_page(report: InsightReport, since: str, enabled: bool) -> str:
    e = html.escape
    where = f" in {e(report.collection)}" if report.collection else ""
    kept = f'<input type="hidden" name="collection" value="{e(report.collection)}">' if report.collection else ""
    off = "" if enabled else ('<p class="muted">The question log is off: set FORUMQA_QUESTION_LOG=true to record '
                              "new questions.</p>")
    languages = ", ".join(f"{e(lang)} {n}" for lang, n in report.languages.items()) or "none"
    days = _rows([[f"<td>{d.day}</td>", f'<td class="n">{d.questions}</td>',
                   f'<td class="n">{_percent(d.answered_rate)}</td>',
                   f"<td>{e(', '.join(f'{k} {v}' for k, v in sorted(d.languages.items())))}</td>"]
                  for d in reversed(report.days) if d.questions])
    topics = "".join(
        f"<li><strong>{e(t.label)}</strong> — {t.count} "
        f"({e(', '.join(f'{k} {v}' for k, v in t.languages.items()))})"
        + ("<ul>" + "".join(f"<li>{e(q)} <span class='muted'>({e(lang)}, {n})</span></li>"
                            for q, lang, n in t.questions[1:TOPIC_EXAMPLES]) + "</ul>" if len(t.questions) > 1 else "")
        + "</li>" for t in report.unanswered_topics)
    cited = _rows([[f"<td>{e(d['title'] or d['doc_id'])} <span class='muted'>{e(d['doc_id'])}</span></td>",
                    f'<td class="n">{d["citations"]}</td>'] for d in report.most_cited])
    voted = _rows([[f"<td>{e(v['at'][:16])}</td>", f"<td>{e(v['language'])}</td>", f"<td>{e(v['question'])}</td>",
                    f"<td>{e(v['answer'])}</td>"] for v in report.down_voted])
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"><title>Insights</title>'
        f"<style>{_STYLE}</style></head><body><h1>What visitors asked{where}</h1>{off}"
        f'<form method="get">{kept}<label>Since <input name="since" value="{e(since)}" size="10"></label> '
        '<button>Show</button> <span class="muted">30d, 12h, 4w, a date or all</span></form>'
        f"<p>{report.questions} questions ({languages}), {report.answered} answered "
        f"({_percent(report.answered_rate)}).</p>{daily_chart(report.days)}"
        f"<h2>Unanswered questions by topic</h2><ol>{topics or '<li>None.</li>'}</ol>"
        f"<h2>Most cited documents</h2><table><tr><th>Document</th><th>Citations</th></tr>{cited}</table>"
        f"<h2>Down-voted answers</h2><table><tr><th>When (UTC)</th><th>Language</th><th>Question</th>"
        f"<th>Answer</th></tr>{voted}</table>"
        f"<h2>Per day</h2><table><tr><th>Day (UTC)</th><th>Questions</th><th>Answered</th><th>Languages</th></tr>"
        f"{days}</table></body></html>"
    )
