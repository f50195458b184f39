"""A legal hold (D11, D12): a case the team leader keeps past its term for legal proceedings or a
statutory obligation (``retention.ExtensionReason``) is held until that extension's date.

Wmo 2015 art. 5.3.5 lid 3: a destruction request is granted "unless the law forbids it". While a hold
is live, a grant is refused (409, rule ``d12-legal-hold``, audited as a refusal by the gate); refusing
the request with its reason stays open. A hold in the person's own interest (``subject_interest``)
does not stop a grant: their request to destroy is that interest's answer. The retention sweep needs
no check of its own: a hold moves ``destroy_after`` to its date, and the sweep destroys only a case
whose ``destroy_after`` has passed (``destruction.destroy_expired_case``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vault.context import Context
from vault.errors import Conflict
from vault.models import Case, RetentionExtension
from vault.runtime import Vault
from vault.services.calendar import local_date
from vault.services.gate_vocabulary import RuleRefused

__all__ = ["HOLD_REASONS", "LEGAL_HOLD", "hold_on", "legal_hold_until", "refuse_under_legal_hold"]

LEGAL_HOLD = "d12-legal-hold"
HOLD_REASONS = ("legal_proceedings", "statutory_obligation")  # retention.ExtensionReason values


def legal_hold_until(session: Session, case_id: str, now: datetime) -> datetime | None:
    """The latest date until which a hold keeps the case, when it lies ahead; None when none is live.
    Dates and reason codes only: no case content is read."""
    return session.scalar(
        select(func.max(RetentionExtension.destroy_after)).where(
            RetentionExtension.case_id == case_id,
            RetentionExtension.reason_code.in_(HOLD_REASONS),
            RetentionExtension.destroy_after > now,
        )
    )


def hold_on(vault: Vault, case_id: str, now: datetime) -> datetime | None:
    """``legal_hold_until`` for a page that has passed the gate for the case already (the decision on
    a destruction request): a date, no content, so no audit entry of its own."""
    with vault.db.session() as session:
        case = session.get(Case, case_id)
        if case is None or case.destroyed_at is not None:
            return None
        return legal_hold_until(session, case_id, now)


def refuse_under_legal_hold(session: Session, ctx: Context, case_id: str) -> None:
    """Inside the gate's transaction of a grant: refuse it while a hold is live (a case destroyed
    already has nothing left to hold: its unfinished grant is finished)."""
    case = session.get(Case, case_id)
    if case is None or case.destroyed_at is not None:
        return
    until = legal_hold_until(session, case_id, ctx.now())
    if until is not None:
        message = (
            "the case is kept for legal proceedings or a statutory obligation until "
            f"{local_date(until).isoformat()}: refuse the request with that reason"
        )
        raise RuleRefused(Conflict(message), LEGAL_HOLD)
