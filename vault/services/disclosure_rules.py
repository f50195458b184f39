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
  The board is asked by the triage outcome or by a live grant to the board on the board's own request
  code (``wmo-4.1.1-2-rvdk``), never by a grant on a parent's consent; and for an existing grant the
  request must be one that was live since the grant's start (``since``): once lapsed, a later grant to
  the board does not bring the municipality's grant back.
- D9, D2, D4: a help seeker's advice case is shared only on a share consent given by the help seeker
  themself (``consents.check_sharing_consent``) or after the own-motion conversion (D4, which makes it
  a report): a statutory code never carries it (rule ``d9-advice-needs-consent``). An advice case of a
  professional (D3) may be shared on a statutory code: the professional asked Veilig Thuis's help.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from vault.context import Context
from vault.domain import CaseKind, OrgType, TriageOutcome
from vault.models import Case, CaseWorkflow, Grant, Organisation
from vault.policy import Decision, check_legal_basis
from vault.repositories.access import BOARD_REQUEST_BASIS, MUNICIPALITY_BASIS
from vault.services.consents import check_sharing_consent

__all__ = [
    "ADVICE_NEEDS_CONSENT",
    "BOARD_REQUEST_BASIS",
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
ADVICE_NEEDS_CONSENT = "d9-advice-needs-consent"  # D9, D2, D4: a help seeker's advice case, no statutory code


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


def board_asked(session: Session, ctx: Context, case_id: str, *, since: datetime | None = None) -> bool:
    """D9: is the child protection board asked to investigate the case? The triage outcome is the
    request to the board, or a grant to an organisation of the board's type on the board's request code
    (``wmo-4.1.1-2-rvdk``; one on a parent's consent asks the Raad nothing) is live now (not revoked,
    not expired) and was already live at ``since`` (default now): for an existing municipality grant,
    its start, so a request that lapsed is not replaced by a later one. A grant used up still shows the
    request; a revoked or expired one does not.
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
            Grant.legal_basis == BOARD_REQUEST_BASIS,
            Grant.revoked_at.is_(None),
            Grant.valid_from <= (now if since is None else min(since, now)),
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
    since: datetime | None = None,
) -> Decision:
    """D9: does ``legal_basis`` allow disclosing this case to the organisation now? Its code fits the
    organisation's type (the reviewed list), a help seeker's advice case is shared on consent only
    (D2, D4), the municipality's basis has the board asked (for an existing grant: since its start,
    ``since``), and a grant on consent rests on a recorded, unwithdrawn sharing consent of the case
    naming this organisation, given by whom it may be. Fails closed; the rule names the condition that
    failed (as a refused disclosure does)."""
    decision = check_legal_basis(legal_basis, org_type, consent_id)
    if decision.allowed and consent_id is None and _help_seekers_advice(session, case_id):
        return Decision(
            allowed=False,
            rule=ADVICE_NEEDS_CONSENT,
            reason="a help seeker's advice case is shared only on the help seeker's own consent (D2, D9)",
        )
    if (
        decision.allowed
        and legal_basis == MUNICIPALITY_BASIS
        and not board_asked(session, ctx, case_id, since=since)
    ):
        return Decision(
            allowed=False,
            rule=RVDK_NOT_ASKED,
            reason="the child protection board is not asked to investigate this case",
        )
    if decision.allowed and consent_id is not None:
        return check_sharing_consent(session, case_id=case_id, consent_id=consent_id, org_id=org_id)
    return decision


def _help_seekers_advice(session: Session, case_id: str) -> bool:
    """Whether the case is a help seeker's advice case (after the own-motion conversion it is a report)."""
    case = session.get(Case, case_id)
    return case is not None and case.kind == CaseKind.ADVICE_HELP_SEEKER
