"""GET /view/{doc_id}?q=...: a stored document's text with the passages an answer quoted highlighted and scrolled
into view, the page every source links to (`evidence_url`). The text is always escaped: nothing a document holds
becomes markup, and the page runs only its own one-line script (CSP by hash)."""

from __future__ import annotations

import base64
import hashlib
import html
from dataclasses import replace
from pathlib import PurePath
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import HTMLResponse

from bot import Answer, Source
from bot.citations import quoted_passages
from store import is_document_id
from web.context import Context
from web.documents import CollectionName, file_url
from web.passages import Passage, quote_spans, readable_passages

MAX_QUOTES = 4
MAX_QUOTE_CHARS = 400  # a longer quote is highlighted from its start: links stay well under URL limits

# The first highlight, else the page a PDF link names (#page=N), is scrolled to the middle of the window.
_SCRIPT = ('var m=document.querySelector("mark")||document.querySelector(\'[data-page="\'+'
           'parseInt(location.hash.slice(6),10)+\'"]\');if(m){m.scrollIntoView({block:"center"});}')
_STYLE = ("body{font:16px/1.6 system-ui,sans-serif;max-width:46rem;margin:0 auto;padding:1rem 1.25rem;"
          "color:#1f2328;background:#fff}header{border-bottom:1px solid #d0d7de;margin-bottom:1rem}"
          "h1{font-size:1.35rem;margin:.5rem 0}.text{white-space:pre-wrap;margin:0 0 1rem}"
          "h2.page{font-size:.85rem;color:#59636e;text-align:center;font-weight:normal;margin:1.5rem 0 .5rem}"
          "h3{font-size:1.05rem;margin:1.25rem 0 .25rem}mark{background:#ffe58a;color:inherit;padding:0 .1em}"
          "a{color:#0969da}")


def csp_hash(source: str) -> str:
    """An inline script's or style's source as a CSP hash source: the page's own, and nothing else, runs."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode() + "'"


_HEADERS = {
    "Content-Security-Policy": f"default-src 'none'; script-src {csp_hash(_SCRIPT)}; style-src "
                               f"{csp_hash(_STYLE)}; base-uri 'none'; form-action 'none'; frame-ancestors 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "private, max-age=60",
}

router = APIRouter()


def evidence_url(doc_id: str, quotes: list[str], page: int | None = None, collection: str | None = None) -> str:
    """The viewer's link for a document with these quotes highlighted (#page=N for a PDF page); "" for what is
    not a document id. `collection`: the document's, None for the default one."""
    if not is_document_id(doc_id):
        return ""
    kept = [q.strip()[:MAX_QUOTE_CHARS] for q in quotes if q.strip()][:MAX_QUOTES]
    query = urlencode([("q", q) for q in kept] + ([("collection", collection)] if collection else []))
    return f"/view/{doc_id}" + (f"?{query}" if query else "") + (f"#page={page}" if isinstance(page, int) else "")


def link_sources(answer: Answer, collection: str | None = None) -> Answer:
    """Every source linked to its evidence: the passages the answer quotes from it, else its snippet.
    `collection`: the answer's, None for the default one."""

    def linked(source: Source) -> Source:
        quotes = quoted_passages(answer.answer, source.n) if source.n else []
        quotes = quotes or [source.snippet.strip("… ")]
        return replace(source, url=evidence_url(source.doc_id, quotes, source.page, collection))

    return replace(answer, sources=[linked(s) for s in answer.sources],
                   also_retrieved=[linked(s) for s in answer.also_retrieved])


def _marked(text: str, spans: list[tuple[int, int]]) -> str:
    parts, at = [], 0
    for start, end in spans:
        parts += [html.escape(text[at:start]), "<mark>", html.escape(text[start:end]), "</mark>"]
        at = end
    return "".join(parts) + html.escape(text[at:])


def _body(passages: list[Passage], quotes: list[str]) -> str:
    parts, page, heading = [], None, ""
    for passage, spans in zip(passages, quote_spans(passages, quotes)):
        if passage.page is not None and passage.page != page:
            page = passage.page
            parts.append(f'<h2 class="page" data-page="{int(page)}">— {int(page)} —</h2>')
        if passage.heading and passage.heading != heading:
            parts.append(f"<h3>{html.escape(passage.heading)}</h3>")
        heading = passage.heading
        parts.append(f'<div class="text">{_marked(passage.text, spans)}</div>')
    return "\n".join(parts)


@router.get("/view/{doc_id}", include_in_schema=False)
def view_document(doc_id: str, ctx: Context, q: Annotated[list[str] | None, Query()] = None,
                  collection: CollectionName = None) -> HTMLResponse:
    index = ctx.forum(collection).index
    record = index.document(doc_id) if is_document_id(doc_id) else None
    chunks = index.document_chunks(doc_id) if record else []
    if not chunks:
        raise HTTPException(404, "no such document")
    quotes = [quote[:MAX_QUOTE_CHARS] for quote in (q or [])[:MAX_QUOTES]]
    title = html.escape(record.title or PurePath(record.source).name)
    lang = record.language if record.language.isalpha() and len(record.language) <= 3 else ""
    name = html.escape(PurePath(record.source).name)
    download = html.escape(file_url(record.doc_id, ctx.collections.link_name(collection)))
    page = (f'<!doctype html>\n<html lang="{lang}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>'
            f"<style>{_STYLE}</style></head>\n<body><header><h1>{title}</h1>"
            f'<p><a href="{download}" download>{name}</a></p></header>\n<main>\n'
            f"{_body(readable_passages(chunks), quotes)}\n</main><script>{_SCRIPT}</script></body></html>")
    return HTMLResponse(page, headers=_HEADERS)
