"""What a disclosure is asked with and answered by: the request (``DisclosureRequest``), its
refusals (``DisclosureInvalid``, ``DisclosureRefused``, ``DuplicateDisclosure``) and a grant as its
callers see it (``GrantView``). ``vault.services.disclosures`` re-exports these with the use cases.

A grant's purpose is free text staff typed (D22): it is sealed under the case key (``purpose_enc``,
migration 0027), so a view's ``purpose`` is opened through the gate: for staff inside an admission to
the case (``opened_purpose``, ``admitted_view``), for the partner by ``gate.partner_texts``. A grant made
before keeps its clear ``purpose`` and is shown as it is."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from vault.context import Context
from vault.domain import Action, AuditTag, Category
from vault.errors import Conflict, Forbidden, InvalidInput
from vault.models import Grant, GrantItem
from vault.runtime import Vault
from vault.services.gate import Admission, GateRequest, admit, decrypt_case_field

__all__ = [
    "DisclosureInvalid",
    "DisclosureRefused",
    "DisclosureRequest",
    "DuplicateDisclosure",
    "GrantView",
    "admitted_view",
    "grant_view",
    "opened_purpose",
]


@dataclass(frozen=True)
class DisclosureRequest:
    case_id: str
    org_id: str
    purpose: str
    legal_basis: str
    categories: frozenset[Category] = frozenset()
    document_ids: frozenset[str] = frozenset()
    consent_reference: str | None = None
    valid_days: int | None = None
    max_retrievals: int = 5
    include_reporter_identity: bool = False
    partner_title: str | None = None  # D22: typed for the partner; None = "categorie – datum"
    confirm_duplicate: bool = False  # share although a live disclosure to this organisation overlaps
    # With ``confirm_duplicate``: the live disclosure the person saw and confirmed (the warning's); any
    # other overlapping one (made by a first click of a double submit) is held back again. None: any.
    confirmed_duplicate_of: str | None = None
    # D23: the Veilig Thuis contact the partner calls for the warm handover; required, no default.
    contact_name: str = field(kw_only=True)
    contact_phone: str = field(kw_only=True)


class DisclosureInvalid(InvalidInput):
    """A malformed disclosure request; ``field`` names the part of the request it concerns."""

    def __init__(self, message: str, *, field: str, rule: str | None = None) -> None:
        super().__init__(message, rule=rule)
        self.field = field


class DisclosureRefused(Forbidden):
    """A D8/D9 refusal of a disclosure; ``rule`` (e.g. ``d9-consent-withdrawn``) lets a page explain it."""

    rule: str

    def __init__(self, message: str, *, rule: str) -> None:
        super().__init__(message, rule=rule)


class DuplicateDisclosure(Conflict):
    """Held back: a live disclosure to the same organisation already covers part of it (``existing``)."""

    def __init__(self, existing: GrantView) -> None:
        super().__init__(
            f"live disclosure {existing.id} to this organisation already covers part of this; "
            "send confirm_duplicate with confirm_duplicate_of (its id) to disclose anyway, or extend it"
        )
        self.existing = existing


@dataclass(frozen=True)
class GrantView:
    id: str
    case_id: str
    org_id: str
    purpose: str
    legal_basis: str
    categories: tuple[str, ...]
    document_ids: tuple[str, ...]
    valid_from: datetime
    valid_until: datetime
    max_retrievals: int
    retrievals_used: int
    revoked: bool


def grant_view(session: Session, grant: Grant, *, purpose: str) -> GrantView:
    """The grant as callers see it, with its ``purpose`` as the caller opened it (``opened_purpose``)."""
    items = session.execute(select(GrantItem.kind, GrantItem.ref).where(GrantItem.grant_id == grant.id)).all()
    return GrantView(
        id=grant.id,
        case_id=grant.case_id,
        org_id=grant.org_id,
        purpose=purpose,
        legal_basis=grant.legal_basis,
        categories=tuple(sorted(ref for kind, ref in items if kind == "category")),
        document_ids=tuple(sorted(ref for kind, ref in items if kind == "document")),
        valid_from=grant.valid_from,
        valid_until=grant.valid_until,
        max_retrievals=grant.max_retrievals,
        retrievals_used=grant.retrievals_used,
        revoked=grant.revoked_at is not None,
    )


def opened_purpose(admission: Admission, grant: Grant) -> str:
    """D18, D22: the purpose of a grant of the admitted case: the sealed text, opened with the case key;
    a grant made before migration 0027 has none and keeps its clear one ("" once its case is destroyed)."""
    if grant.purpose_enc is None:
        return grant.purpose
    return decrypt_case_field(
        admission, table="grants", column="purpose", row_id=grant.id, value=grant.purpose_enc
    )


def admitted_view(
    session: Session,
    vault: Vault,
    ctx: Context,
    grant: Grant,
    *,
    tag: AuditTag,
    details: dict[str, int | str] | None = None,
) -> GrantView:
    """A grant's view for staff outside a read of its case (a duplicate held back, a revocation, an
    extension): its purpose is case content, so it is opened through the gate in the caller's
    transaction, READ on the case, audited under ``tag`` with the grant's id (a refusal raises
    ``Refusal``)."""
    return admit(
        session,
        vault,
        ctx,
        GateRequest(grant.case_id, Action.READ),
        tag=tag,
        object_type="grant",
        object_id=grant.id,
        then=lambda s, admission: grant_view(s, grant, purpose=opened_purpose(admission, grant)),
        details=details,
    )
