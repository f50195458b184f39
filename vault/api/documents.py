"""Document upload and download, streamed end to end, through the gate."""

from __future__ import annotations

import re
from functools import partial
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Header, Query, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session

from vault.auth import AuthConfig
from vault.context import Context
from vault.domain import Category
from vault.http.deps import RequestContext, VaultDep, bearer_in_header, verified_context_in
from vault.http.downloads import admitted_response, check_declared_size
from vault.http.params import UUID_PATTERN, CaseId
from vault.http.streaming import SyncBody, decode_header_text
from vault.repositories.access import read_facts_of
from vault.runtime import Vault
from vault.services.authentication import session_token_hash
from vault.services.documents import upload_document
from vault.services.gate import AdmittedRead, admit_read
from vault.services.reporter_mask import neutral_under_break_glass

router = APIRouter(tags=["documents"])


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


# The hot path: a plain endpoint (its parameters are read here and declared in the schema below, so
# FastAPI's dependency and validation machinery is not run per request; measured in
# docs/architecture.md). The session check, the decision and the audit entry run as one job of the
# group-commit writer (`vault.transaction.GroupCommit`), so concurrent downloads share a transaction
# and its durable commit; no byte is read before that commit.
_UUID = re.compile(UUID_PATTERN)
DOWNLOAD_PATH = re.compile(r"^/api/v1/documents/(?P<document_id>[^/]+)/content$")
_MAX_VERSION = 1_000_000
_DOWNLOAD_SCHEMA: dict[str, Any] = {
    "security": [{"HTTPBearer": []}],
    "parameters": [
        {
            "name": "document_id",
            "in": "path",
            "required": True,
            "description": "Document id (UUID)",
            "schema": {"type": "string", "pattern": UUID_PATTERN, "maxLength": 36},
        },
        {
            "name": "version",
            "in": "query",
            "required": False,
            "schema": {"type": "integer", "minimum": 1, "maximum": _MAX_VERSION},
        },
        {
            "name": "grant_id",
            "in": "query",
            "required": False,
            "schema": {"type": "string", "pattern": UUID_PATTERN, "maxLength": 36},
        },
        {
            "name": "x-break-glass-justification",
            "in": "header",
            "required": False,
            "description": "D20: justification, UTF-8 percent-encoded",
            "schema": {"type": "string", "maxLength": 2048},
        },
    ],
}


def _download_parameters(request: Request) -> tuple[str, int | None, str | None, str | None]:
    """(document id, version, grant id, justification), checked as the schema above declares; 422
    names the parameter and the problem, never the value (as FastAPI's own validation does)."""
    problems: list[dict[str, Any]] = []

    def problem(where: str, name: str, msg: str) -> None:
        problems.append({"loc": (where, name), "msg": msg, "type": "value_error"})

    document_id = request.path_params["document_id"]
    if len(document_id) > 36 or not _UUID.match(document_id):
        problem("path", "document_id", "should be a document id (UUID)")
    version: int | None = None
    raw_version = request.query_params.get("version")
    if raw_version is not None:
        stripped = raw_version.strip()
        if len(stripped) > 7 or not stripped.isascii() or not stripped.isdigit():
            problem("query", "version", "should be a valid integer")
        elif not 1 <= int(stripped) <= _MAX_VERSION:
            problem("query", "version", f"should be between 1 and {_MAX_VERSION}")
        else:
            version = int(stripped)
    grant_id = request.query_params.get("grant_id")
    if grant_id is not None and (len(grant_id) > 36 or not _UUID.match(grant_id)):
        problem("query", "grant_id", "should be a grant id (UUID)")
    justification = request.headers.get("x-break-glass-justification")
    if justification is not None and len(justification) > 2048:
        problem("header", "x-break-glass-justification", "should have at most 2048 characters")
    if problems:
        raise RequestValidationError(problems)
    if justification:
        justification = decode_header_text(justification, "X-Break-Glass-Justification", limit=1000)
    return document_id, version, grant_id, justification or None


@router.get(
    "/api/v1/documents/{document_id}/content",
    summary="Download a document version, streamed; audited before the first byte",
    response_class=StreamingResponse,
    openapi_extra=_DOWNLOAD_SCHEMA,
    responses={
        # The bytes come with the version's own content type (text/plain, application/pdf, …).
        200: {
            "description": "the document version's bytes",
            "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
        },
        404: {"description": "not found"},
        422: {
            "description": "Validation Error",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/HTTPValidationError"}}},
        },
    },
)
async def download(request: Request) -> Response:
    document_id, version, grant_id, justification = _download_parameters(request)
    vault: Vault = request.app.state.vault
    auth = AuthConfig.from_vault(vault)
    token_hash = session_token_hash(auth, bearer_in_header(request.headers.get("authorization")))

    def job(session: Session) -> tuple[Context, AdmittedRead]:
        ctx, row = verified_context_in(session, request, vault, auth, token_hash, document_id, version)
        read = admit_read(
            session,
            vault,
            ctx,
            document_id,
            version=version,
            break_glass_justification=justification,
            grant_id=grant_id,
            read_facts=read_facts_of(ctx, row),
        )
        # D8 (review s18 G1): an emergency read never carries the uploader's file name.
        return ctx, neutral_under_break_glass(session, read) if justification else read

    ctx, admitted = await vault.group.run_async(job)
    return await admitted_response(vault, ctx, admitted)
