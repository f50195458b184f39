"""D13 / AVG art. 15(1)(c): the recipients an inzage copy names — to whom the case was disclosed.

The person is entitled to know who received their data. A disclosure (a grant) shares parts of one
case, and the case is about every person in it: the report, the investigation and the safety
conditions describe the family together, and a grant is not scoped to one person. So the copy of
any subject of the case lists every grant of the case — live, expired and revoked, opened by the
partner or not ("have been or will be disclosed"). Naming a recipient organisation tells nothing of
another person; leaving one out would hide a recipient the person is entitled to know.

What the copy says of a grant: the recipient organisation's name and type, the categories shared (a
document shared by itself counts under its category), the date, the legal basis, until when and
whether it was revoked or has expired. Never the purpose, the partner-facing title or the Veilig
Thuis contact: staff typed them (D22), and the contact names a staff member.

D8: the reporter's identity is left out of every grant that carried it; a grant that carried nothing
else is not listed at all (listing it would say that the reporter's identity went there), and the
copy's access report leaves out its entries too (``unlisted_grants``); every listed grant keeps its
entries there (creation, changes, reads: tag, time, actor and ground only), so the recipient that
also received the reporter's identity looks like every other. The copy
withholds "identiteit van de melder" once, as for any case with a reporter, and never counts these
grants: a count would tell the family that the identity went to a partner.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vault import labels
from vault.domain import Category
from vault.models import Document, Grant, GrantItem, Organisation

__all__ = ["Recipient", "case_grants", "disclosed_to", "recipient_rows", "reporter_grants", "unlisted_grants"]

ACTIVE = "active"
EXPIRED = "expired"
REVOKED = "revoked"


@dataclass(frozen=True)
class Recipient:
    """One disclosure as the copy shows it: only the organisation, codes and dates (no free text)."""

    organisation: str
    organisation_type: str
    categories: tuple[str, ...]
    disclosed_at: datetime
    legal_basis: str
    valid_until: datetime
    revoked_at: datetime | None
    state: str  # ACTIVE, EXPIRED or REVOKED when the copy was made

    @property
    def state_text(self) -> str:
        """Until when, in the words of the person who receives the copy."""
        until = labels.dutch_date(self.valid_until)
        if self.state == REVOKED:
            return f"ingetrokken op {labels.dutch_date(self.revoked_at)} (liep tot {until})"
        if self.state == EXPIRED:
            return f"verlopen op {until}"
        return f"loopt tot {until}"

    @property
    def category_text(self) -> str:
        return ", ".join(labels.label(labels.CATEGORIES, c) for c in self.categories) or "—"

    def as_dict(self) -> dict[str, Any]:
        return {
            "organisation": self.organisation,
            "organisation_type": self.organisation_type,
            "categories": list(self.categories),
            "disclosed_at": self.disclosed_at.isoformat(),
            "legal_basis": self.legal_basis,
            "valid_until": self.valid_until.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
            "state": self.state,
        }


def _covered(session: Session, case_id: str) -> dict[str, set[str]]:
    """Per grant of the case, the categories it covers: named ones and those of named documents."""
    covered: dict[str, set[str]] = defaultdict(set)
    items = session.execute(
        select(GrantItem.grant_id, GrantItem.kind, GrantItem.ref, Document.category)
        .join(Grant, Grant.id == GrantItem.grant_id)
        .outerjoin(Document, (GrantItem.kind == "document") & (Document.id == GrantItem.ref))
        .where(Grant.case_id == case_id)
    )
    for grant_id, kind, ref, document_category in items:
        category = ref if kind == "category" else document_category
        if category is not None:  # a document destroyed since has no category left to name
            covered[grant_id].add(category)
    return covered


def _unlisted(categories: set[str]) -> bool:
    """D8: a grant that carried the reporter's identity and nothing else is not listed."""
    return Category.REPORTER_IDENTITY in categories and not categories - {Category.REPORTER_IDENTITY}


def unlisted_grants(session: Session, case_id: str) -> set[str]:
    """The case's grants the copy does not list (``disclosed_to``); the subject's access report
    leaves out their entries as well (``access_overview.subject_report``), so the two agree."""
    return {grant_id for grant_id, categories in _covered(session, case_id).items() if _unlisted(categories)}


def reporter_grants(session: Session, case_id: str) -> set[str]:
    """The case's grants that carried the reporter's identity, with other categories or alone."""
    return {
        grant_id
        for grant_id, categories in _covered(session, case_id).items()
        if Category.REPORTER_IDENTITY in categories
    }


def case_grants(session: Session, case_id: str) -> set[str]:
    """The ids of every grant of the case whose row still exists."""
    return {str(grant_id) for grant_id in session.scalars(select(Grant.id).where(Grant.case_id == case_id))}


def _state(grant: Grant, now: datetime) -> str:
    if grant.revoked_at is not None:
        return REVOKED
    return EXPIRED if grant.valid_until <= now else ACTIVE


def disclosed_to(session: Session, case_id: str, now: datetime) -> tuple[list[Recipient], int]:
    """Every grant of the case as a recipient (oldest first), and how many grants carried the
    reporter's identity, which is left out of them (D8)."""
    covered = _covered(session, case_id)
    rows = session.execute(
        select(Grant, Organisation.name, Organisation.org_type)
        .join(Organisation, Organisation.id == Grant.org_id)
        .where(Grant.case_id == case_id)
        .order_by(Grant.created_at, Grant.id)
    )
    recipients: list[Recipient] = []
    reporter = 0
    for grant, org_name, org_type in rows:
        categories = covered.get(grant.id, set())
        if Category.REPORTER_IDENTITY in categories:
            reporter += 1
            if _unlisted(categories):
                continue
            categories = categories - {Category.REPORTER_IDENTITY}
        recipients.append(
            Recipient(
                organisation=org_name,
                organisation_type=org_type,
                categories=tuple(sorted(categories)),
                disclosed_at=grant.created_at,
                legal_basis=grant.legal_basis,
                valid_until=grant.valid_until,
                revoked_at=grant.revoked_at,
                state=_state(grant, now),
            )
        )
    return recipients, reporter


def recipient_rows(recipients: list[Recipient]) -> list[tuple[str, str]]:
    """The PDF's rows: date and recipient, then what was shared, on which ground, until when."""
    return [
        (
            f"{labels.dutch_date(r.disclosed_at)} · {r.organisation} "
            f"({labels.label(labels.ORG_TYPES, r.organisation_type)})",
            f"Gedeeld: {r.category_text} — grond: {labels.label(labels.LEGAL_BASES, r.legal_basis)} "
            f"— {r.state_text}",
        )
        for r in recipients
    ]
