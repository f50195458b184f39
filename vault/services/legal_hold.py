"""A legal hold (D11, D12): a case the team leader keeps for legal proceedings or a statutory
obligation (``retention.ExtensionReason``) is held until that extension's date — any day from
tomorrow (proceedings of two years), or until the hold is lifted (``lift_legal_hold``: by the roles
that place it, with a reason code, audited ``rights:legal-hold:lifted``).

Wmo 2015 art. 5.3.5 lid 3: a destruction request is granted "unless the law forbids it". While a hold
is live, a grant is refused (409, rule ``d12-legal-hold``, audited as a refusal by the gate); refusing
the request with its reason stays open. A hold in the person's own interest (``subject_interest``)
does not stop a grant: their request to destroy is that interest's answer. The retention sweep needs
no check of its own: a hold that reaches past ``destroy_after`` moves it to its date, the sweep destroys
only a case whose ``destroy_after`` has passed (``destruction.destroy_expired_case``), and lifting a hold
sets ``destroy_after`` back to what the case's last change and its other extensions give.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vault.context import Context
from vault.domain import Action, AuditTag
from vault.errors import Conflict
from vault.models import Case, RetentionExtension
from vault.runtime import Vault
from vault.services.calendar import local_date
from vault.services.gate import GateRequest, pass_gate
from vault.services.gate_vocabulary import RuleRefused
from vault.services.retention import HOLD_REASONS, destroy_after_for

__all__ = [
    "HOLD_REASONS",
    "LEGAL_HOLD",
    "NO_HOLD",
    "LiftReason",
    "hold_on",
    "legal_hold_until",
    "lift_legal_hold",
    "refuse_under_legal_hold",
]

LEGAL_HOLD = "d12-legal-hold"
NO_HOLD = "d12-no-legal-hold"  # nothing to lift


class LiftReason(StrEnum):
    """D12: why a legal hold ends before its date (a code, never free text)."""

    PROCEEDINGS_ENDED = "proceedings_ended"
    OBLIGATION_ENDED = "obligation_ended"
    PLACED_IN_ERROR = "placed_in_error"


def legal_hold_until(session: Session, case_id: str, now: datetime) -> datetime | None:
    """The latest date until which a hold keeps the case, when it lies ahead; None when none is live.
    Dates and reason codes only: no case content is read."""
    return session.scalar(
        select(func.max(RetentionExtension.destroy_after)).where(
            RetentionExtension.case_id == case_id,
            RetentionExtension.reason_code.in_(HOLD_REASONS),
            RetentionExtension.destroy_after > now,
            RetentionExtension.lifted_at.is_(None),
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


def lift_legal_hold(vault: Vault, ctx: Context, case_id: str, *, reason: LiftReason) -> datetime:
    """D12: end every live hold of the case now (the roles that place a hold: the gate's ADMINISTER,
    as ``retention.extend_retention``), with a reason code; audited ``rights:legal-hold:lifted``.
    The destruction date goes back to what the last change and the other extensions give. No live
    hold: refused (409, rule ``d12-no-legal-hold``, audited). Returns the new destruction date."""

    def lift(session: Session, _admission: object) -> datetime:
        case = session.get(Case, case_id)
        assert case is not None
        now = ctx.now()
        rows = list(session.scalars(select(RetentionExtension).where(RetentionExtension.case_id == case_id)))
        live = [
            r for r in rows if r.reason_code in HOLD_REASONS and r.lifted_at is None and r.destroy_after > now
        ]
        if not live:
            raise RuleRefused(Conflict("this case has no legal hold to lift"), NO_HOLD)
        for row in live:
            row.lifted_at, row.lifted_by, row.lift_code = now, ctx.actor_id, str(reason)
        kept = [r.destroy_after for r in rows if r.lifted_at is None]
        case.destroy_after = max([destroy_after_for(case.last_changed_at), *kept])
        session.flush()
        return case.destroy_after

    return pass_gate(
        vault,
        ctx,
        GateRequest(case_id, Action.ADMINISTER),
        tag=AuditTag.RIGHTS_LEGAL_HOLD_LIFTED,
        object_type="case",
        object_id=case_id,
        then=lift,
        details={"reason": str(reason)},
    )
