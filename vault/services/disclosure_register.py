"""What a case's disclosures rest on and led to, read through the gate (each read audited): the live
sharing consents the share form offers (D9) and the terugkoppeling for the reporter (D8).

The terugkoppeling (Wmo 2015 art. 4.1.1 lid 2: the reporter is told which steps were taken) counts a
disclosure as a step only when it was one: a grant revoked before its first retrieval (sent to the
wrong practice and taken back at once) handed nothing over, and is left out. A partner retrieves only
while the grant is not revoked, so "revoked and never retrieved" is exactly "revoked before its first
retrieval". A grant on the subject's consent (D9 ``consent``) starts follow-up, but its recipient is
not named: it tells which care provider the family chose to share with, which the family agreed to
for that provider and not for the reporter (often a neighbour).

Both are Veilig Thuis's own business, like the register (``disclosures.list_case_disclosures``): staff
only (``refuse_unless_staff``). The professional who asked advice reads their advice case, not whom
Veilig Thuis shared it with, on which consent of whom (D3, D9); any other role is refused and audited
(``dossier:access:denied``, rule ``d3-register-staff-only``, ids only) before the gate is asked."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from vault.context import Context
from vault.domain import Action, AuditTag
from vault.models import Consent, Grant, Organisation
from vault.policy import default_legal_bases
from vault.runtime import Vault
from vault.services import gate
from vault.services.gate import Admission, GateRequest, pass_gate
from vault.services.subjects import ConsentScope

__all__ = [
    "STAFF_ONLY",
    "ConsentChoice",
    "ReporterFeedback",
    "read_case",
    "refuse_unless_staff",
    "reporter_feedback",
    "sharing_consents",
]

T = TypeVar("T")

STAFF_ONLY = "d3-register-staff-only"  # what was shared, with whom: staff only (D3)


def refuse_unless_staff(vault: Vault, ctx: Context, case_id: str, attempted: AuditTag) -> None:
    """D3/D9: what Veilig Thuis shared from a case, with whom and on whose consent is for its staff.
    Any other role (the professional who asked advice, a partner, the FG) is refused before the gate,
    as for the register (``gate.refuse_unless_staff``: audited, rule ``d3-register-staff-only``, 403)."""
    gate.refuse_unless_staff(
        vault,
        ctx,
        case_id,
        rule=STAFF_ONLY,
        reason="what was shared from a case, and on which consent, is for Veilig Thuis staff",
        attempted=attempted,
    )


def read_case(
    vault: Vault, ctx: Context, case_id: str, tag: AuditTag, then: Callable[[Session, Admission], T]
) -> T:
    """A read of case data through the gate: decided, audited under ``tag``, then ``then``."""
    return pass_gate(
        vault,
        ctx,
        GateRequest(case_id, Action.READ),
        tag=tag,
        object_type="case",
        object_id=case_id,
        then=then,
    )


@dataclass(frozen=True)
class ConsentChoice:
    """A live consent of a case that a disclosure may rest on (D9): whose, for which organisation."""

    consent_id: str
    given_by: str
    recipient_org_id: str
    recorded_at: datetime


def sharing_consents(vault: Vault, ctx: Context, case_id: str) -> list[ConsentChoice]:
    """The case's unwithdrawn ``share_with_partner`` consents (for the share form); READ on the case,
    audited (``disclosure:consents:listed``). Staff only (D3; ``refuse_unless_staff``)."""
    refuse_unless_staff(vault, ctx, case_id, AuditTag.DISCLOSURE_CONSENTS_LISTED)

    def consents(session: Session, _admission: Admission) -> list[ConsentChoice]:
        rows = session.scalars(
            select(Consent)
            .where(
                Consent.case_id == case_id,
                Consent.scope == str(ConsentScope.SHARE_WITH_PARTNER),
                Consent.withdrawn_at.is_(None),
                Consent.recipient_org_id.is_not(None),
            )
            .order_by(Consent.recorded_at)
        ).all()
        return [ConsentChoice(c.id, c.given_by, c.recipient_org_id or "", c.recorded_at) for c in rows]

    return read_case(vault, ctx, case_id, AuditTag.DISCLOSURE_CONSENTS_LISTED, consents)


@dataclass(frozen=True)
class ReporterFeedback:
    """Terugkoppeling: only whether follow-up started and to which organisations it went (on a
    statutory basis; a consent-based recipient is not named)."""

    follow_up_started: bool
    handed_to: tuple[str, ...]


def _handed_over() -> ColumnElement[bool]:
    """D8/D9: a grant that handed something over: not revoked, or retrieved before it was revoked."""
    return or_(Grant.revoked_at.is_(None), Grant.retrievals_used > 0)


def _statutory_bases() -> list[str]:
    """The statutory codes of the reviewed list (D9): a recipient on one of these may be named; one on
    consent, or on a code no longer on the list, is not (fail closed)."""
    bases = default_legal_bases()
    statutory = (basis for code in bases.codes if (basis := bases.get(code)) is not None)
    return sorted(basis.code for basis in statutory if not basis.requires_consent_reference)


def reporter_feedback(vault: Vault, ctx: Context, case_id: str) -> ReporterFeedback:
    """Terugkoppeling for the reporter: READ on the case, audited (``disclosure:feedback:prepared``).
    Staff prepare it (they tell the reporter); anyone else is refused (D3; ``refuse_unless_staff``)."""
    refuse_unless_staff(vault, ctx, case_id, AuditTag.DISCLOSURE_FEEDBACK_PREPARED)

    def feedback(session: Session, _admission: Admission) -> ReporterFeedback:
        steps = select(Grant.id).where(Grant.case_id == case_id, _handed_over()).limit(1)
        started = session.execute(steps).first() is not None
        names: Sequence[str] = session.scalars(
            select(Organisation.name)
            .join(Grant, Grant.org_id == Organisation.id)
            .where(
                Grant.case_id == case_id,
                _handed_over(),
                Grant.legal_basis.in_(_statutory_bases()),
                Grant.consent_id.is_(None),
            )
            .distinct()
            .order_by(Organisation.name)
        ).all()
        return ReporterFeedback(follow_up_started=started, handed_to=tuple(names))

    return read_case(vault, ctx, case_id, AuditTag.DISCLOSURE_FEEDBACK_PREPARED, feedback)
