"""Document upload and download, streamed end to end, through the gate."""

from __future__ import annotations

from functools import partial
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Header, Query, Request, status
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session

from vault.auth import AuthConfig
from vault.context import Context
from vault.domain import Category
from vault.http.deps import (
    BearerCredentials,
    RequestContext,
    VaultDep,
    bearer_token,
    verified_context_in,
)
from vault.http.downloads import check_declared_size, download_headers
from vault.http.params import UUID_PATTERN, CaseId, DocumentId
from vault.http.streaming import SyncBody, decode_header_text, stream_batches
from vault.services import watermark
from vault.services.documents import upload_document
from vault.services.gate import AdmittedRead, admit_read, open_admitted

router = APIRouter(tags=["documents"])

# Up to this size a download is decrypted and verified whole on the event loop and sent in one
# response (one segment or a few); larger ones stream from a worker thread.
INLINE_BYTES = 256 * 1024


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
    check_declared_size(request, vault)
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


# The hot path. The session check, the decision and the audit entry run as one job of the group-commit
# writer (`vault.transaction.GroupCommit`), so concurrent downloads share a transaction and
# its durable commit; no byte is read before that commit. A small document is then decrypted and
# verified whole and sent in one response; a large one streams.
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
    request: Request,
    vault: VaultDep,
    credentials: BearerCredentials,
    version: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
    grant_id: Annotated[str | None, Query(pattern=UUID_PATTERN, max_length=36)] = None,
    x_break_glass_justification: Annotated[
        str | None, Header(max_length=2048, description="D20: justification, UTF-8 percent-encoded")
    ] = None,
) -> Response:
    justification = (
        decode_header_text(x_break_glass_justification, "X-Break-Glass-Justification", limit=1000)
        if x_break_glass_justification
        else None
    )
    token = bearer_token(credentials)
    auth = AuthConfig.from_vault(vault)

    def job(session: Session) -> tuple[Context, AdmittedRead]:
        ctx = verified_context_in(session, request, vault, auth, token)
        return ctx, admit_read(
            session,
            vault,
            ctx,
            document_id,
            version=version,
            break_glass_justification=justification,
            grant_id=grant_id,
        )

    ctx, admitted = await vault.group.run_async(job)
    headers = download_headers(admitted.filename, version=admitted.version)
    if watermark.applies(ctx, admitted.content_type, admitted.filename):
        # A partner's PDF carries its recipient (docs/security.md); held whole, under a cap.
        marked = await anyio.to_thread.run_sync(
            lambda: watermark.recipient_copy(vault, ctx, open_admitted(vault, admitted))
        )
        return Response(b"".join(marked.chunks), media_type=marked.content_type, headers=headers)
    if admitted.length <= INLINE_BYTES:
        opened = open_admitted(vault, admitted)
        return Response(b"".join(opened.chunks), media_type=admitted.content_type, headers=headers)
    opened = await anyio.to_thread.run_sync(open_admitted, vault, admitted)
    headers["Content-Length"] = str(opened.length)
    return StreamingResponse(stream_batches(opened.chunks), media_type=opened.content_type, headers=headers)
