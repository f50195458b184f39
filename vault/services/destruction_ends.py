"""What a destruction ends besides the content (D11, D12, D13), in its transaction: the case's
disclosures, and the requests about it. And what it waits for: an open access request.

- **Disclosures** end with the case (``close_grants``).
- **Other destruction requests** of the case (a second parent's, say) are answered by it: granted, each
  audited, so none stays pending and goes overdue on a case that no longer exists
  (``answer_destruction_requests``).
- **An open access request** holds the destruction back (``refuse_while_access_is_asked``, rule
  ``d13-access-request-open``): the person asked to see what the vault holds about them, and the
  answer is owed within the term (AVG art. 12(3), 15); destroying it first would leave the request
  unanswerable, and would look like destroying to avoid answering. The team leader answers it first;
  the retention sweep passes the case over until then (``sweep``).
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from vault.audit import record
from vault.context import Context
from vault.domain import AuditTag
from vault.errors import Conflict
from vault.models import AccessRequest, DestructionRequest, Grant

__all__ = [
    "ACCESS_REQUEST_OPEN",
    "access_is_asked",
    "answer_destruction_requests",
    "close_grants",
    "refuse_while_access_is_asked",
]

ACCESS_REQUEST_OPEN = "d13-access-request-open"


def access_is_asked(session: Session, case_id: str) -> bool:
    """Whether an access request about the case waits for its answer."""
    open_request = session.scalar(
        select(AccessRequest.id).where(AccessRequest.case_id == case_id, AccessRequest.completed_at.is_(None))
    )
    return open_request is not None


def refuse_while_access_is_asked(session: Session, case_id: str) -> None:
    if access_is_asked(session, case_id):
        raise Conflict(
            "an access request about this case is open: answer it before the case is destroyed",
            rule=ACCESS_REQUEST_OPEN,
        )


def answer_destruction_requests(session: Session, ctx: Context, case_id: str) -> None:
    pending = session.scalars(
        select(DestructionRequest)
        .where(DestructionRequest.case_id == case_id, DestructionRequest.status == "pending")
        .order_by(DestructionRequest.id)
    ).all()
    for request in pending:
        request.status, request.decided_at, request.decided_by = "granted", ctx.now(), ctx.actor_id
        record(
            session,
            ctx,
            AuditTag.RIGHTS_DESTRUCTION_GRANTED,
            case_id=case_id,
            object_type="destruction_request",
            object_id=request.id,
            rule="d11-case-destroyed",
            details={"reason": "case-destroyed"},
        )


def close_grants(session: Session, ctx: Context, case_id: str) -> None:
    """D11/D12, D22: the case's disclosures end with it. The grant rows stay (ids, organisation,
    categories, dates: the partner's retrieval history and the audit log point at them), revoked, with
    the text a person typed (purpose, legacy consent reference, contact) blanked and the sealed purpose's and
    partner title's ciphertexts wiped; each revocation audited (ids only)."""
    live = session.execute(
        select(Grant.id, Grant.org_id).where(Grant.case_id == case_id, Grant.revoked_at.is_(None))
    ).all()
    for grant_id, org_id in live:
        record(
            session,
            ctx,
            AuditTag.DISCLOSURE_GRANT_REVOKED,
            case_id=case_id,
            object_type="grant",
            object_id=grant_id,
            rule="d11-case-destroyed",
            details={"org_id": org_id, "reason": "case-destroyed"},
        )
    of_case = Grant.case_id == case_id
    session.execute(update(Grant).where(of_case, Grant.revoked_at.is_(None)).values(revoked_at=ctx.now()))
    # purpose is NOT NULL: the empty string stands for "blanked at destruction".
    session.execute(
        update(Grant)
        .where(of_case)
        .values(
            purpose="",
            purpose_enc=None,
            consent_reference=None,
            contact_name=None,
            contact_phone=None,
            partner_title_enc=None,
        )
    )
