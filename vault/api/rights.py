"""Data subjects' rights and retention over HTTP (D11–D14): requests, decisions, certificates,
statements, inzage exports, access-request deadlines and the AVG art. 30 register."""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from functools import partial
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Header, Path, Query, Request, Response, status
from pydantic import BaseModel, Field

from vault.api.documents import DocumentCreated
from vault.errors import Forbidden, InvalidInput
from vault.http.dates import Day, Moment
from vault.http.deps import RequestContext, StepUpSession, VaultDep
from vault.http.params import UUID_PATTERN, CaseId
from vault.http.streaming import SyncBody, decode_header_text
from vault.services import destruction, inzage, inzage_review, legal_hold, request_views, rights
from vault.services.pdf import certificate_pdf
from vault.services.retention import ExtensionReason as RetentionReason
from vault.services.retention import extend_retention

router = APIRouter(tags=["rights"])

RequestId = Annotated[str, Path(pattern=UUID_PATTERN, max_length=36)]
SubjectId = Annotated[str, Path(pattern=UUID_PATTERN, max_length=36)]


class Format(StrEnum):
    json = "json"
    pdf = "pdf"


class DestructionRequestIn(BaseModel):
    received_on: Day


class DestructionDecisionIn(BaseModel):
    grant: bool
    refusal_reason: destruction.RefusalReason | None = None
    refusal_note: str | None = Field(default=None, max_length=2000)


class Created(BaseModel):
    id: str


def _certificate_response(cert: destruction.CertificateView, fmt: Format) -> Response:
    if fmt is Format.pdf:
        return Response(certificate_pdf(cert), media_type="application/pdf")
    body = {"body": json.loads(cert.body), "signature": cert.signature}
    return Response(json.dumps(body, sort_keys=True), media_type="application/json")


@router.post(
    "/api/v1/cases/{case_id}/destruction-requests",
    status_code=status.HTTP_201_CREATED,
    summary="D12: record a request to destroy the case (decision due within three months)",
)
async def request_destruction(
    case_id: CaseId, body: DestructionRequestIn, ctx: RequestContext, vault: VaultDep
) -> Created:
    rid = await anyio.to_thread.run_sync(
        partial(destruction.record_destruction_request, vault, ctx, case_id, received_on=body.received_on)
    )
    return Created(id=rid)


@router.get(
    "/api/v1/destruction-requests",
    summary="D12: pending destruction requests of the cases the caller may see, with their deadlines",
)
async def pending_destruction(ctx: RequestContext, vault: VaultDep) -> list[dict[str, Any]]:
    """Staff only; the cases of their teams and their assignments (audited with the count)."""
    items = await anyio.to_thread.run_sync(partial(destruction.pending_destruction_requests, vault, ctx))
    return [i.__dict__ for i in items]


@router.post(
    "/api/v1/destruction-requests/{request_id}/decision",
    summary="D12: grant (destroy + certificate) or refuse (reason from the list + explanation)",
)
async def decide_destruction(
    request_id: RequestId,
    body: DestructionDecisionIn,
    ctx: RequestContext,
    _step_up: StepUpSession,
    vault: VaultDep,
) -> dict[str, Any]:
    outcome = await anyio.to_thread.run_sync(
        partial(
            destruction.decide_destruction_request,
            vault,
            ctx,
            request_id,
            grant=body.grant,
            refusal_reason=body.refusal_reason,
            refusal_note=body.refusal_note,
        )
    )
    cert = outcome.certificate
    return {
        "request_id": outcome.request_id,
        "status": outcome.status,
        "certificate": {"body": json.loads(cert.body), "signature": cert.signature} if cert else None,
    }


@router.get(
    "/api/v1/cases/{case_id}/certificate",
    summary="The signed destruction certificate (JSON or PDF)",
    response_class=Response,
    responses={200: {"content": {"application/json": {}, "application/pdf": {}}}},
)
async def certificate(
    case_id: CaseId,
    ctx: RequestContext,
    vault: VaultDep,
    fmt: Annotated[Format, Query(alias="format")] = Format.json,
) -> Response:
    """For those who may see the case (its team, an assignee) and the privacy officer; audited."""
    cert = await anyio.to_thread.run_sync(partial(destruction.read_certificate, vault, ctx, case_id))
    return await anyio.to_thread.run_sync(_certificate_response, cert, fmt)  # a PDF: off the event loop


class RetentionIn(BaseModel):
    until: Moment
    reason: RetentionReason


@router.post(
    "/api/v1/cases/{case_id}/retention", summary="D11: keep a case longer, with a reason (team leader)"
)
async def retention(
    case_id: CaseId, body: RetentionIn, ctx: RequestContext, vault: VaultDep
) -> dict[str, str]:
    until = await anyio.to_thread.run_sync(
        partial(extend_retention, vault, ctx, case_id, until=body.until, reason=body.reason)
    )
    return {"destroy_after": until.isoformat()}


class LiftHoldIn(BaseModel):
    reason: legal_hold.LiftReason


@router.post(
    "/api/v1/cases/{case_id}/legal-hold/lift",
    summary="D12: lift the case's legal hold before its date, with a reason (the roles that place it)",
)
async def lift_hold(
    case_id: CaseId, body: LiftHoldIn, ctx: RequestContext, vault: VaultDep
) -> dict[str, str]:
    until = await anyio.to_thread.run_sync(
        partial(legal_hold.lift_legal_hold, vault, ctx, case_id, reason=body.reason)
    )
    return {"destroy_after": until.isoformat()}


@router.post(
    "/api/v1/cases/{case_id}/statements",
    status_code=status.HTTP_201_CREATED,
    summary="D14: append a subject's statement (zienswijze) beside a document; raw body, streamed",
)
async def statement(
    case_id: CaseId,
    request: Request,
    ctx: RequestContext,
    vault: VaultDep,
    x_refers_to: Annotated[
        str, Header(pattern=UUID_PATTERN, max_length=36, description="The answered document")
    ],
    x_document_title: Annotated[str, Header(max_length=1024)],
    x_document_filename: Annotated[str, Header(max_length=1024)],
    content_type: Annotated[str, Header(max_length=127)] = "text/plain",
) -> DocumentCreated:
    stored = await anyio.to_thread.run_sync(
        partial(
            rights.add_statement,
            vault,
            ctx,
            case_id=case_id,
            refers_to_document_id=x_refers_to,
            title=decode_header_text(x_document_title, "X-Document-Title"),
            filename=decode_header_text(x_document_filename, "X-Document-Filename"),
            content_type=content_type,
            chunks=SyncBody(request.stream()),
        )
    )
    return DocumentCreated(
        document_id=stored.document_id,
        version_id=stored.version_id,
        version=stored.version,
        length=stored.plaintext_length,
    )


@router.get(
    "/api/v1/cases/{case_id}/subjects/{subject_id}/inzage",
    summary="D13: the inzage copy of one subject (JSON or PDF), withholdings listed with reasons",
    response_class=Response,
    responses={200: {"content": {"application/json": {}, "application/pdf": {}}}},
)
async def inzage_copy(
    case_id: CaseId,
    subject_id: SubjectId,
    ctx: RequestContext,
    _step_up: StepUpSession,
    vault: VaultDep,
    fmt: Annotated[Format, Query(alias="format")] = Format.json,
    access_request: Annotated[
        str | None,
        Query(
            pattern=UUID_PATTERN,
            max_length=36,
            description="D22: the access request this copy answers; its released free text is included",
        ),
    ] = None,
) -> Response:
    export = await anyio.to_thread.run_sync(
        partial(inzage.export_for_subject, vault, ctx, case_id, subject_id, access_request_id=access_request)
    )
    if fmt is Format.pdf:
        # D13: rendering is CPU-bound (seconds for a busy case): off the event loop
        pdf = await anyio.to_thread.run_sync(inzage.render_inzage_pdf, export)
        return Response(
            pdf,
            media_type="application/pdf",
            headers={"Content-Disposition": 'attachment; filename="inzage.pdf"'},
        )
    return Response(json.dumps(export.as_dict(), ensure_ascii=False), media_type="application/json")


class AccessRequestIn(BaseModel):
    subject_id: str = Field(pattern=UUID_PATTERN, max_length=36)
    received_on: Day
    # D13: a child under 12 asks via a representative, who asks only for a minor (under 18)
    requested_by: rights.RequestedBy = rights.RequestedBy.SUBJECT
    # D13: from 16 a representative asks only with the young person's consent (recorded in the audit)
    minor_consent: bool = False


class AccessCompleteIn(BaseModel):
    closing: rights.AccessClosing | None = Field(
        default=None,
        description="D13: why the request is closed without an inzage copy made for it (none: a copy)",
    )


class AccessExtensionIn(BaseModel):
    reason: rights.ExtensionReason
    weeks: int = Field(ge=1, le=8)


def _access_out(view: rights.AccessRequestView) -> dict[str, Any]:
    return view.__dict__


@router.post(
    "/api/v1/cases/{case_id}/access-requests",
    status_code=status.HTTP_201_CREATED,
    summary="D13: record an inzage request (answer within four weeks)",
)
async def access_request(
    case_id: CaseId, body: AccessRequestIn, ctx: RequestContext, vault: VaultDep
) -> dict[str, Any]:
    view = await anyio.to_thread.run_sync(
        partial(
            rights.record_access_request,
            vault,
            ctx,
            case_id,
            subject_id=body.subject_id,
            received_on=body.received_on,
            requested_by=body.requested_by,
            minor_consent=body.minor_consent,
        )
    )
    return _access_out(view)


@router.post(
    "/api/v1/access-requests/{request_id}/extend", summary="D13: extend the deadline once, with a reason"
)
async def access_extend(
    request_id: RequestId, body: AccessExtensionIn, ctx: RequestContext, vault: VaultDep
) -> dict[str, Any]:
    view = await anyio.to_thread.run_sync(
        partial(rights.extend_access_request, vault, ctx, request_id, reason=body.reason, weeks=body.weeks)
    )
    return _access_out(view)


@router.post(
    "/api/v1/access-requests/{request_id}/complete",
    summary="D13: mark an inzage request answered (after its copy was made) or closed with a reason",
)
async def access_complete(
    request_id: RequestId, ctx: RequestContext, vault: VaultDep, body: AccessCompleteIn | None = None
) -> dict[str, Any]:
    """Without ``closing``, an inzage copy must have been made for this request (``?access_request=``
    on the copy), else 409 with rule ``d13-answered-without-copy`` (audited)."""
    closing = body.closing if body else None
    return _access_out(
        await anyio.to_thread.run_sync(
            partial(rights.complete_access_request, vault, ctx, request_id, closing=closing)
        )
    )


class FreeTextItemOut(BaseModel):
    item: str
    kind: str
    document_id: str
    category: str
    created_at: datetime
    text: str
    decision: inzage.ReviewDecision | None
    decided_at: datetime | None
    decided_by: str | None
    ground: inzage.WithholdingGround | None = Field(description="D13: why it was withheld, if given")


class FreeTextChoiceIn(BaseModel):
    item: str = Field(max_length=100, description="kind:id, as listed (e.g. document_title:<document id>)")
    decision: inzage.ReviewDecision
    ground: inzage.WithholdingGround | None = Field(
        default=None, description="D13: only with withheld; the copy names it as the reason"
    )


class FreeTextReviewIn(BaseModel):
    decisions: list[FreeTextChoiceIn] = Field(min_length=1, max_length=1000)


class FreeTextReviewedOut(BaseModel):
    item: str
    decision: inzage.ReviewDecision
    decided_at: datetime
    ground: inzage.WithholdingGround | None


@router.get(
    "/api/v1/access-requests/{request_id}/free-text",
    summary="D22: the free-text items of the inzage copy (document titles) with their text and review",
)
async def free_text_items(
    request_id: RequestId, ctx: RequestContext, vault: VaultDep
) -> list[FreeTextItemOut]:
    items = await anyio.to_thread.run_sync(partial(inzage_review.list_free_text, vault, ctx, request_id))
    return [FreeTextItemOut(**i.__dict__) for i in items]


@router.post(
    "/api/v1/access-requests/{request_id}/free-text",
    summary="D22: release (step-up) or withhold free-text items for the inzage copy; audited with ids",
)
async def free_text_review(
    request_id: RequestId, body: FreeTextReviewIn, ctx: RequestContext, vault: VaultDep
) -> list[FreeTextReviewedOut]:
    choices = {c.item: c.decision for c in body.decisions}
    if len(choices) != len(body.decisions):
        raise InvalidInput("each item is named once")
    grounds = {c.item: c.ground for c in body.decisions if c.ground is not None}
    done = await anyio.to_thread.run_sync(
        partial(inzage_review.review_free_text, vault, ctx, request_id, choices, grounds)
    )
    return [
        FreeTextReviewedOut(item=d.item, decision=d.decision, decided_at=d.decided_at, ground=d.ground)
        for d in done
    ]


@router.get(
    "/api/v1/access-requests",
    summary="D13: open inzage requests of the cases the caller may see, earliest deadline first",
)
async def access_due(ctx: RequestContext, vault: VaultDep) -> list[dict[str, Any]]:
    """Staff: their teams' and assigned cases; the privacy officer: all (audited with the count)."""
    return [
        _access_out(v)
        for v in await anyio.to_thread.run_sync(partial(rights.due_access_requests, vault, ctx))
    ]


def _destruction_out(view: request_views.DestructionRequestView) -> dict[str, Any]:
    return dict(view.__dict__)


@router.get(
    "/api/v1/cases/{case_id}/rights-requests",
    summary="D12, D13: the case's access and destruction requests, newest first (ids and dates)",
)
async def case_rights_requests(case_id: CaseId, ctx: RequestContext, vault: VaultDep) -> dict[str, Any]:
    found = await anyio.to_thread.run_sync(partial(request_views.case_requests, vault, ctx, case_id))
    return {
        "access_requests": [_access_out(v) for v in found.access],
        "destruction_requests": [
            {k: v for k, v in d.__dict__.items() if k != "refusal_note"} for d in found.destruction
        ],
    }


@router.get("/api/v1/access-requests/{request_id}", summary="D13: one inzage request (ids and dates)")
async def access_request_one(request_id: RequestId, ctx: RequestContext, vault: VaultDep) -> dict[str, Any]:
    return _access_out(
        await anyio.to_thread.run_sync(partial(request_views.read_access_request, vault, ctx, request_id))
    )


@router.get(
    "/api/v1/destruction-requests/{request_id}",
    summary="D12: one destruction request with its decision and refusal explanation",
)
async def destruction_request_one(
    request_id: RequestId, ctx: RequestContext, vault: VaultDep
) -> dict[str, Any]:
    return _destruction_out(
        await anyio.to_thread.run_sync(
            partial(request_views.read_destruction_request, vault, ctx, request_id)
        )
    )


@router.get("/api/v1/privacy/register", summary="The register of processing activities (AVG art. 30)")
async def register(ctx: RequestContext) -> dict[str, Any]:
    if ctx.role not in {"privacy_officer", "admin"}:
        raise Forbidden("only the privacy officer and administrators read the register")
    return rights.processing_register()
