"""Two rules a disclosure must meet besides the policy's decision (``vault.services.disclosures``).

- D23: it names the Veilig Thuis contact for the warm handover, a person and a phone number a partner
  can dial (the triage form and the API check the same number).
- D9: the statutory basis for the municipality (``wmo-4.1.1-2-rvdk-municipality``) holds only while the
  child protection board is asked to investigate the case.
- D9: the basis of a grant holds now (``basis_holds``): it fits the recipient's type, the board is asked
  for the municipality's basis, a consent it rests on is recorded for this recipient and not withdrawn.
  An extension checks it again (``disclosure_changes``): a basis that lapsed is not brought back.
- D9: a municipality's grant stops with the board's request: revoking the board's grant revokes it
  (``disclosure_changes``), and a partner's read and inbox treat it as not live once the board is no
  longer asked (``vault.repositories.access.basis_in_force``: ``board_asked`` in SQL, the same rule).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from vault.context import Context
from vault.domain import OrgType, TriageOutcome
from vault.models import CaseWorkflow, Grant, Organisation
from vault.policy import Decision, check_legal_basis
from vault.repositories.access import MUNICIPALITY_BASIS
from vault.services.consents import check_sharing_consent

__all__ = [
    "CONTACT_NAME_MAX",
    "CONTACT_PHONE_MAX",
    "MUNICIPALITY_BASIS",
    "RVDK_NOT_ASKED",
    "ContactProblem",
    "basis_holds",
    "board_asked",
    "contact_problem",
    "plausible_phone",
]

CONTACT_NAME_MAX = 128
CONTACT_PHONE_MAX = 32
PHONE_DIGITS = (8, 15)  # 0800-2000 has 8; E.164 allows at most 15
# An optional leading +, then digits with spaces, hyphens and parentheses between them, ending in a digit.
_PHONE = re.compile(r"\+?[0-9(][0-9() -]*[0-9]")
RVDK_NOT_ASKED = "d9-rvdk-not-asked"


@dataclass(frozen=True)
class ContactProblem:
    message: str  # names the field, never the value
    field: str
    rule: str


def plausible_phone(text: str) -> bool:
    """D23: a phone number a partner can dial: digits with an optional leading +, spaces, hyphens and
    balanced parentheses (``+31 (0)30 123 45 67``), 8 to 15 digits, at most 32 characters."""
    number = text.strip()
    digits = sum(ch in "0123456789" for ch in number)
    return (
        len(number) <= CONTACT_PHONE_MAX
        and PHONE_DIGITS[0] <= digits <= PHONE_DIGITS[1]
        and _PHONE.fullmatch(number) is not None
        and number.count("(") == number.count(")") <= 1
        and number.find("(") <= number.find(")")
    )


def contact_problem(name: str | None, phone: str | None) -> ContactProblem | None:
    """D23: what is wrong with a disclosure's Veilig Thuis contact, or None."""
    if name is None or not any(ch.isalpha() for ch in name):
        return ContactProblem(
            "a disclosure names the Veilig Thuis contact for the warm handover (D23): contact_name",
            field="contact_name",
            rule="d23-contact-required",
        )
    if phone is None or not phone.strip():
        return ContactProblem(
            "a disclosure names the Veilig Thuis contact's phone number (D23): contact_phone",
            field="contact_phone",
            rule="d23-contact-required",
        )
    if not plausible_phone(phone):
        return ContactProblem(
            "contact_phone: 8 to 15 digits, with an optional leading +, spaces, hyphens or parentheses",
            field="contact_phone",
            rule="d23-contact-phone",
        )
    return None


def board_asked(session: Session, ctx: Context, case_id: str) -> bool:
    """D9: is the child protection board asked to investigate the case? The triage outcome is the
    request to the board, or a disclosure to an organisation of the board's type is live (not revoked,
    not expired). A grant used up still shows the request; a revoked or expired one does not.
    ``vault.repositories.access.basis_in_force`` asks the same in SQL: change both together."""
    workflow = session.get(CaseWorkflow, case_id)
    if workflow is not None and workflow.triage_outcome == TriageOutcome.REQUEST_CHILD_PROTECTION_BOARD:
        return True
    now = ctx.now()
    live_to_board = (
        select(Grant.id)
        .join(Organisation, Organisation.id == Grant.org_id)
        .where(
            Grant.case_id == case_id,
            Organisation.org_type == OrgType.CHILD_PROTECTION_BOARD,
            Grant.revoked_at.is_(None),
            Grant.valid_from <= now,
            Grant.valid_until > now,
        )
        .limit(1)
    )
    return session.execute(live_to_board).first() is not None


def basis_holds(
    session: Session,
    ctx: Context,
    *,
    case_id: str,
    org_id: str,
    org_type: OrgType,
    legal_basis: str,
    consent_id: str | None,
) -> Decision:
    """D9: does ``legal_basis`` allow disclosing this case to the organisation now? Its code fits the
    organisation's type (the reviewed list), the municipality's basis has the board asked, and a grant
    on consent rests on a recorded, unwithdrawn sharing consent of the case naming this organisation.
    Fails closed; the rule names the condition that failed (as a refused disclosure does)."""
    decision = check_legal_basis(legal_basis, org_type, consent_id)
    if decision.allowed and legal_basis == MUNICIPALITY_BASIS and not board_asked(session, ctx, case_id):
        return Decision(
            allowed=False,
            rule=RVDK_NOT_ASKED,
            reason="the child protection board is not asked to investigate this case",
        )
    if decision.allowed and consent_id is not None:
        return check_sharing_consent(session, case_id=case_id, consent_id=consent_id, org_id=org_id)
    return decision
