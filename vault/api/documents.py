"""Document upload and download, streamed end to end, through the gate."""

from __future__ import annotations

from functools import partial
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Header, Path, Query, Request, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from vault.api.deps import RequestContext, VaultDep
from vault.api.streaming import SyncBody, content_disposition, decode_header_text, stream_batches
from vault.domain import Category
from vault.errors import InvalidInput
from vault.services.gate import read_document, upload_document

router = APIRouter(tags=["documents"])

UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
CaseId = Annotated[str, Path(pattern=UUID_PATTERN, max_length=36, description="Case id (UUID)")]
DocumentId = Annotated[str, Path(pattern=UUID_PATTERN, max_length=36, description="Document id (UUID)")]


class DocumentCreated(BaseModel):
    document_id: str
    version_id: str
    version: int
    length: int


@router.post(
    "/api/v1/cases/{case_id}/documents",
    status_code=status.HTTP_201_CREATED,
    summary="Upload a document (or a new version): raw body, streamed and encrypted on arrival",
    responses={
        400: {"description": "bad metadata or over the size limit"},
        413: {"description": "too large"},
    },
)
async def upload(
    case_id: CaseId,
    request: Request,
    ctx: RequestContext,
    vault: VaultDep,
    category: Annotated[Category, Query(description="The document's category")],
    x_document_title: Annotated[str, Header(max_length=1024, description="Title, UTF-8 percent-encoded")],
    x_document_filename: Annotated[
        str, Header(max_length=1024, description="File name, UTF-8 percent-encoded")
    ],
    content_type: Annotated[str, Header(max_length=127)] = "application/octet-stream",
    document_id: Annotated[str | None, Query(pattern=UUID_PATTERN, max_length=36)] = None,
) -> DocumentCreated:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > vault.settings.max_upload_bytes:
        raise InvalidInput(
            f"the document is larger than the limit of {vault.settings.max_upload_bytes} bytes"
        )
    title = decode_header_text(x_document_title, "X-Document-Title")
    filename = decode_header_text(x_document_filename, "X-Document-Filename")
    stored = await anyio.to_thread.run_sync(
        partial(
            upload_document,
            vault,
            ctx,
            case_id=case_id,
            category=category,
            title=title,
            filename=filename,
            content_type=content_type,
            chunks=SyncBody(request.stream()),
            document_id=document_id,
        )
    )
    return DocumentCreated(
        document_id=stored.document_id,
        version_id=stored.version_id,
        version=stored.version,
        length=stored.plaintext_length,
    )


@router.get(
    "/api/v1/documents/{document_id}/content",
    summary="Download a document version, streamed; audited before the first byte",
    response_class=StreamingResponse,
    responses={
        # The bytes come with the version's own content type (text/plain, application/pdf, …).
        200: {
            "description": "the document version's bytes",
            "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
        },
        404: {"description": "not found"},
    },
)
async def download(
    document_id: DocumentId,
    ctx: RequestContext,
    vault: VaultDep,
    version: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
    grant_id: Annotated[str | None, Query(pattern=UUID_PATTERN, max_length=36)] = None,
    x_break_glass_justification: Annotated[
        str | None, Header(max_length=2048, description="D20: justification, UTF-8 percent-encoded")
    ] = None,
) -> StreamingResponse:
    justification = (
        decode_header_text(x_break_glass_justification, "X-Break-Glass-Justification", limit=1000)
        if x_break_glass_justification
        else None
    )
    opened = await anyio.to_thread.run_sync(
        partial(
            read_document,
            vault,
            ctx,
            document_id,
            version=version,
            break_glass_justification=justification,
            grant_id=grant_id,
        )
    )
    return StreamingResponse(
        stream_batches(opened.chunks),
        media_type=opened.content_type,
        headers={
            "Content-Length": str(opened.length),
            "Content-Disposition": content_disposition(opened.filename),
            "Content-Security-Policy": "sandbox; default-src 'none'",
            "Cache-Control": "no-store",
            "X-Document-Version": str(opened.version),
        },
    )
