"""What a disclosure is asked with and answered by: the request (``DisclosureRequest``), its
refusals (``DisclosureInvalid``, ``DisclosureRefused``, ``DuplicateDisclosure``) and a grant as its
callers see it (``GrantView``). ``vault.services.disclosures`` re-exports these with the use cases."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from vault.domain import Category
from vault.errors import Conflict, Forbidden, InvalidInput
from vault.models import Grant, GrantItem

__all__ = [
    "DisclosureInvalid",
    "DisclosureRefused",
    "DisclosureRequest",
    "DuplicateDisclosure",
    "GrantView",
    "grant_view",
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
            "send confirm_duplicate to disclose anyway, or extend that one"
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


def grant_view(session: Session, grant: Grant) -> GrantView:
    items = session.execute(select(GrantItem.kind, GrantItem.ref).where(GrantItem.grant_id == grant.id)).all()
    return GrantView(
        id=grant.id,
        case_id=grant.case_id,
        org_id=grant.org_id,
        purpose=grant.purpose,
        legal_basis=grant.legal_basis,
        categories=tuple(sorted(ref for kind, ref in items if kind == "category")),
        document_ids=tuple(sorted(ref for kind, ref in items if kind == "document")),
        valid_from=grant.valid_from,
        valid_until=grant.valid_until,
        max_retrievals=grant.max_retrievals,
        retrievals_used=grant.retrievals_used,
        revoked=grant.revoked_at is not None,
    )
