"""Disclosures to partners: creation (step-up), listing, revocation, extension; the partner inbox and
retrieval history."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Body, Path, status
from pydantic import BaseModel, Field, StringConstraints, field_validator

from vault.domain import Category
from vault.http.deps import RequestContext, StepUpSession, VaultDep
from vault.http.params import UUID_PATTERN, CaseId
from vault.services import disclosures as service
from vault.services import partner_view
from vault.services.disclosure_rules import CONTACT_NAME_MAX, CONTACT_PHONE_MAX, plausible_phone

router = APIRouter(tags=["disclosures"])

GrantId = Annotated[str, Path(pattern=UUID_PATTERN, max_length=36, description="Disclosure (grant) id")]


class DisclosureIn(BaseModel):
    org_id: str = Field(pattern=UUID_PATTERN, max_length=36, description="Recipient organisation")
    purpose: str = Field(
        min_length=1,
        max_length=64,
        description="Why this is shared; the partner sees it with the disclosure (D22): name no one",
    )
    legal_basis: str = Field(min_length=1, max_length=64, description="A statutory code, or 'consent'")
    consent_reference: str | None = Field(
        default=None,
        max_length=64,
        description="With legal_basis 'consent': the id of the case's recorded share_with_partner consent "
        "that names this recipient (D9)",
    )
    categories: list[Category] = Field(default_factory=list, max_length=len(Category))
    document_ids: list[Annotated[str, StringConstraints(pattern=UUID_PATTERN, max_length=36)]] = Field(
        default_factory=list, max_length=200
    )
    valid_days: int | None = Field(default=None, ge=1, le=3650)
    max_retrievals: int = Field(default=5, ge=1, le=service.MAX_RETRIEVALS)
    include_reporter_identity: bool = False
    partner_title: str | None = Field(
        default=None,
        max_length=200,
        description="D22: the title the partner sees instead of internal titles (free text, stored "
        "encrypted, never logged); default: the categories and the date",
    )
    contact_name: str = Field(
        min_length=1,
        max_length=CONTACT_NAME_MAX,
        description="D23 (required): the Veilig Thuis contact the partner calls for the warm handover",
    )
    contact_phone: str = Field(
        min_length=1,
        max_length=CONTACT_PHONE_MAX,
        description="D23 (required): the contact's phone number: 8 to 15 digits, an optional leading +, "
        "spaces, hyphens and parentheses",
    )
    confirm_duplicate: bool = Field(
        default=False,
        description="Disclose although a live disclosure of this case to this organisation overlaps "
        "(without it: 409 naming the existing disclosure)",
    )
    confirm_duplicate_of: str | None = Field(
        default=None,
        pattern=UUID_PATTERN,
        max_length=36,
        description="With confirm_duplicate: the id of the live disclosure the 409 named; only that one is "
        "let through, so a request sent twice is held back the second time (409 naming the first's)",
    )

    @field_validator("contact_name")
    @classmethod
    def _a_name(cls, value: str) -> str:
        if not any(ch.isalpha() for ch in value) or any(ord(ch) < 32 for ch in value):
            raise ValueError("name the Veilig Thuis contact (D23), on one line")
        return value

    @field_validator("contact_phone")
    @classmethod
    def _a_phone(cls, value: str) -> str:
        if not plausible_phone(value):
            raise ValueError("8 to 15 digits, an optional leading +, spaces, hyphens or parentheses (D23)")
        return value


class GrantOut(BaseModel):
    id: str
    case_id: str
    org_id: str
    purpose: str
    legal_basis: str
    categories: list[str]
    document_ids: list[str]
    valid_from: datetime
    valid_until: datetime
    max_retrievals: int
    retrievals_used: int
    revoked: bool

    @classmethod
    def of(cls, view: service.GrantView) -> GrantOut:
        return cls(
            id=view.id,
            case_id=view.case_id,
            org_id=view.org_id,
            purpose=view.purpose,
            legal_basis=view.legal_basis,
            categories=list(view.categories),
            document_ids=list(view.document_ids),
            valid_from=view.valid_from,
            valid_until=view.valid_until,
            max_retrievals=view.max_retrievals,
            retrievals_used=view.retrievals_used,
            revoked=view.revoked,
        )


class InboxDocument(BaseModel):
    document_id: str
    category: str
    retrievable: bool = Field(
        description="false: a kind of file that cannot be cleaned for a partner (HEIC, video, TIFF …); "
        "retrieving it is refused without counting: ask the contact to share it as PDF, JPEG or PNG"
    )


class InboxItemOut(BaseModel):
    grant: GrantOut
    reference: str = Field(description="The case reference both sides quote (VT-XXXX-XXXX)")
    title: str | None = Field(description="The partner-facing title; null: categories and date")
    retrievals_left: int
    contact_name: str | None
    contact_phone: str | None
    documents: list[InboxDocument]


class RetrievalOut(BaseModel):
    at: datetime
    reference: str
    title: str | None = Field(description="The partner-facing title; null: none, or the grant is revoked")
    categories: list[str]
    disclosed_at: datetime | None
    user: str
    category: str | None


class FeedbackOut(BaseModel):
    follow_up_started: bool
    handed_to: list[str]


@router.post(
    "/api/v1/cases/{case_id}/disclosures",
    status_code=status.HTTP_201_CREATED,
    summary="Disclose named parts of a case to a partner (needs step-up)",
)
async def create(
    case_id: CaseId, body: DisclosureIn, ctx: RequestContext, _step_up: StepUpSession, vault: VaultDep
) -> GrantOut:
    req = service.DisclosureRequest(
        case_id=case_id,
        org_id=body.org_id,
        purpose=body.purpose,
        legal_basis=body.legal_basis,
        categories=frozenset(body.categories),
        document_ids=frozenset(body.document_ids),
        consent_reference=body.consent_reference,
        valid_days=body.valid_days,
        max_retrievals=body.max_retrievals,
        include_reporter_identity=body.include_reporter_identity,
        partner_title=body.partner_title,
        contact_name=body.contact_name,
        contact_phone=body.contact_phone,
        confirm_duplicate=body.confirm_duplicate,
        confirmed_duplicate_of=body.confirm_duplicate_of,
    )
    view = await anyio.to_thread.run_sync(partial(service.create_disclosure, vault, ctx, req))
    return GrantOut.of(view)


@router.get("/api/v1/cases/{case_id}/disclosures", summary="Disclosures made from a case")
async def list_for_case(case_id: CaseId, ctx: RequestContext, vault: VaultDep) -> list[GrantOut]:
    views = await anyio.to_thread.run_sync(partial(service.list_case_disclosures, vault, ctx, case_id))
    return [GrantOut.of(v) for v in views]


@router.post("/api/v1/disclosures/{grant_id}/revoke", summary="Revoke a disclosure at once (needs step-up)")
async def revoke(
    grant_id: GrantId, ctx: RequestContext, _step_up: StepUpSession, vault: VaultDep
) -> GrantOut:
    return GrantOut.of(
        await anyio.to_thread.run_sync(partial(service.revoke_disclosure, vault, ctx, grant_id))
    )


@router.post("/api/v1/disclosures/{grant_id}/extend", summary="Extend a disclosure (needs step-up)")
async def extend(
    grant_id: GrantId,
    ctx: RequestContext,
    _step_up: StepUpSession,
    vault: VaultDep,
    days: Annotated[int, Body(embed=True, ge=1, le=3650)],
) -> GrantOut:
    view = await anyio.to_thread.run_sync(partial(service.extend_disclosure, vault, ctx, grant_id, days=days))
    return GrantOut.of(view)


@router.get("/api/v1/partner/inbox", summary="What was disclosed to the partner's organisation and is live")
async def inbox(ctx: RequestContext, vault: VaultDep) -> list[InboxItemOut]:
    items = await anyio.to_thread.run_sync(partial(partner_view.partner_inbox, vault, ctx))
    return [
        InboxItemOut(
            grant=GrantOut.of(i.grant),
            reference=i.reference,
            title=i.title,
            retrievals_left=i.retrievals_left,
            contact_name=i.contact_name,
            contact_phone=i.contact_phone,
            documents=[InboxDocument(document_id=d, category=c, retrievable=r) for d, c, r in i.documents],
        )
        for i in items
    ]


@router.get(
    "/api/v1/partner/retrievals",
    summary="The partner organisation's own retrievals, newest first (audited as a read)",
)
async def retrievals(ctx: RequestContext, vault: VaultDep) -> list[RetrievalOut]:
    history = await anyio.to_thread.run_sync(partial(partner_view.retrieval_history, vault, ctx))
    return [
        RetrievalOut(
            at=r.at,
            reference=r.reference,
            title=r.title,
            categories=list(r.categories),
            disclosed_at=r.disclosed_at,
            user=r.user,
            category=r.category,
        )
        for r in history
    ]


@router.get(
    "/api/v1/cases/{case_id}/reporter-feedback",
    summary="Terugkoppeling for the reporter: whether follow-up started and to whom it went",
)
async def feedback(case_id: CaseId, ctx: RequestContext, vault: VaultDep) -> FeedbackOut:
    fb = await anyio.to_thread.run_sync(partial(service.reporter_feedback, vault, ctx, case_id))
    return FeedbackOut(follow_up_started=fb.follow_up_started, handed_to=list(fb.handed_to))


UserId = Annotated[str, Path(pattern=UUID_PATTERN, max_length=36, description="Staff member (user id)")]


@router.put(
    "/api/v1/cases/{case_id}/assignments/{user_id}",
    summary="Assign a staff member to a case (team leader of the case's team; audited)",
)
async def assign(case_id: CaseId, user_id: UserId, ctx: RequestContext, vault: VaultDep) -> dict[str, bool]:
    from vault.services.assignments import assign_case

    return {"changed": await anyio.to_thread.run_sync(partial(assign_case, vault, ctx, case_id, user_id))}


@router.delete(
    "/api/v1/cases/{case_id}/assignments/{user_id}",
    summary="End a staff member's assignment to a case (team leader; audited; takes effect at once)",
)
async def unassign(case_id: CaseId, user_id: UserId, ctx: RequestContext, vault: VaultDep) -> dict[str, bool]:
    from vault.services.assignments import unassign_case

    return {"changed": await anyio.to_thread.run_sync(partial(unassign_case, vault, ctx, case_id, user_id))}
