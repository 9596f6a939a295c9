"""Document routes: the staff API (upload, list, retitle, delete; admin key) and the public file link of a source."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile

from ingest.decoding import decode_text
from ingest.errors import IngestError
from store import MAX_TITLE_CHARS, is_document_id, write_lock
from store.collections import MAX_COLLECTION_CHARS, UnknownCollection, collection_settings
from web.collections import Forum
from web.context import Context, WebContext
from web.security import check_admin_key
from web.uploads import UploadTooLarge, is_uploaded, store_uploads

log = logging.getLogger(__name__)

MAX_FILES_PER_UPLOAD = 50
_TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".html", ".htm"}
_MEDIA_TYPES = {".pdf": "application/pdf"}
# Whatever a document holds runs no script and loads nothing: texts are shown as plain text in a sandbox, every
# other file (PDFs too: a PDF viewer runs a document's /OpenAction script) is downloaded, never shown inline.
_SAFE_HEADERS = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "default-src 'none'; sandbox",
                 "Cross-Origin-Resource-Policy": "same-origin"}

router = APIRouter(prefix="/api/documents", tags=["documents"])

# Which collection a route acts on: the default one when left out; one the store does not hold is a 404.
CollectionName = Annotated[str | None, Query(
    max_length=MAX_COLLECTION_CHARS, description="The collection (one forum's documents); default: the default one. "
    "An upload into a collection that does not exist yet creates it.",
)]


def require_admin(request: Request, ctx: Context) -> None:
    check_admin_key(ctx.settings, request, request.app.state.admin_limiter)


def collection_query(collection: str | None) -> str:
    """"?collection=NAME" for a collection named in a link, "" for the default one (None)."""
    return f"?{urlencode({'collection': collection})}" if collection else ""


def file_url(doc_id: str, collection: str | None = None) -> str:
    """The public link to a stored document's file (document_file), or "" for what is not a document id.
    `collection`: None for the default one."""
    return f"{router.prefix}/{doc_id}/file{collection_query(collection)}" if is_document_id(doc_id) else ""


@router.get("", dependencies=[Depends(require_admin)], summary="List stored documents (admin key)")
def list_documents(ctx: Context, collection: CollectionName = None) -> dict:
    records = ctx.forum(collection).index.documents()
    named = ctx.collections.link_name(collection)
    return {
        "documents": [{**r.as_metadata(), "file_url": file_url(r.doc_id, named)} for r in records],
        "total": len(records),
        "chunks": sum(r.chunks for r in records),
    }


@router.post(
    "", dependencies=[Depends(require_admin)], summary="Upload and ingest files (admin key)",
    openapi_extra={"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["files"],
        "properties": {"files": {"type": "array", "items": {"type": "string", "format": "binary"}}},
    }}}}},
)
async def upload_documents(request: Request, ctx: Context, collection: CollectionName = None) -> JSONResponse:
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise HTTPException(415, "send the files as multipart/form-data, in one or more fields named 'files'")
    forum = await run_in_threadpool(_existing_forum, ctx, collection)  # may open it: not on the event loop
    form = await request.form(max_files=MAX_FILES_PER_UPLOAD, max_fields=20)
    try:
        uploads = [value for _, value in form.multi_items() if isinstance(value, UploadFile)]
        if not uploads:
            raise HTTPException(422, "no files: send one or more files in multipart fields named 'files'")
        files = [(upload.filename or "upload", upload.file) for upload in uploads]
        try:
            if forum is not None:
                outcomes = await run_in_threadpool(store_uploads, files, forum.index, forum.settings)
            else:  # behind the admin key, an upload may start a collection: once one of its files is ready
                outcomes = await run_in_threadpool(
                    store_uploads, files, None, collection_settings(ctx.settings, collection),
                    lambda: ctx.collections.get(collection, create=True).index)
        except UploadTooLarge as exc:
            raise HTTPException(413, str(exc)) from exc
    finally:
        await form.close()
    failed = [o for o in outcomes if o.status == "failed"]
    for outcome in outcomes:
        log.info("upload %s: %s %s", outcome.stored_as, outcome.status, outcome.reason)
    body = {
        "files": [o.to_dict() for o in outcomes],
        **{s: sum(o.status == s for o in outcomes) for s in ("added", "updated", "unchanged", "failed")},
    }
    return JSONResponse(body, status_code=422 if len(failed) == len(outcomes) else 200)


def _existing_forum(ctx: WebContext, name: str | None) -> Forum | None:
    """The collection `name`, or None when the store does not hold it yet (InvalidCollectionName for a name no
    collection may have)."""
    try:
        return ctx.collections.get(name)
    except UnknownCollection:
        return None


class DocumentChange(BaseModel):
    title: str = Field(min_length=1, max_length=MAX_TITLE_CHARS, pattern=r"\S",
                       description="The title sources show; kept when the file is uploaded or ingested again.")


@router.patch("/{doc_id}", dependencies=[Depends(require_admin)], summary="Change a document's title (admin key)")
def change_document(doc_id: str, change: DocumentChange, ctx: Context, collection: CollectionName = None) -> dict:
    forum = ctx.forum(collection)
    with write_lock(ctx.settings):
        record = forum.index.set_title(doc_id, change.title) if is_document_id(doc_id) else None
    if record is None:
        raise HTTPException(404, f"no document with id '{doc_id[:40]}'")
    return {**record.as_metadata(), "file_url": file_url(record.doc_id, ctx.collections.link_name(collection))}


@router.delete("/{doc_id}", dependencies=[Depends(require_admin)], summary="Remove a document (admin key)")
def delete_document(doc_id: str, ctx: Context, collection: CollectionName = None) -> dict:
    forum = ctx.forum(collection)
    with write_lock(ctx.settings):
        record = forum.index.document(doc_id) if is_document_id(doc_id) else None
        if record is None:
            raise HTTPException(404, f"no document with id '{doc_id[:40]}'")
        forum.index.remove_document(doc_id)
        file_removed = False
        if is_uploaded(record.source, forum.settings):  # staff-uploaded copies go; files ingested by path stay
            Path(record.source).unlink(missing_ok=True)
            file_removed = True
    return {"deleted": doc_id, "title": record.title, "source": record.source, "file_removed": file_removed}


@router.get("/{doc_id}/file", summary="The file of a stored document (public: sources link here)")
def document_file(doc_id: str, ctx: Context, collection: CollectionName = None) -> Response:
    """Only files of documents in the collection's registry are served, by id; a path never comes from the request."""
    record = ctx.forum(collection).index.document(doc_id) if is_document_id(doc_id) else None
    path = Path(record.source) if record else None
    if path is None or not path.is_file():
        raise HTTPException(404, "no such document")
    suffix = path.suffix.lower()
    if suffix in _TEXT_SUFFIXES:  # shown as plain UTF-8 text, whatever its encoding on disk: no markup runs
        try:
            content = decode_text(path.read_bytes())
        except IngestError as exc:
            raise HTTPException(404, "the document file cannot be read") from exc
        return Response(content, media_type="text/plain; charset=utf-8", headers=_SAFE_HEADERS)
    return FileResponse(
        path, media_type=_MEDIA_TYPES.get(suffix, "application/octet-stream"), filename=path.name,
        headers=_SAFE_HEADERS, content_disposition_type="attachment",
    )
