"""Retention arithmetic (D11): destroy_after = last change + 20 years; extensions with a reason code.

``retention_of`` shows the current destruction date and the extensions (dates and codes only, no
case content) to whoever may read the case; the page that shows it audits that read."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from vault.context import Context
from vault.domain import Action, AuditTag
from vault.errors import Forbidden, InvalidInput, NotFound
from vault.models import Case, RetentionExtension
from vault.runtime import Vault
from vault.services.calendar import local_date
from vault.services.gate import GateRequest, pass_gate, would_allow

__all__ = [
    "HOLD_REASONS",
    "RETENTION_YEARS",
    "Extension",
    "ExtensionReason",
    "Retention",
    "destroy_after_for",
    "extend_retention",
    "retention_of",
]

RETENTION_YEARS = 20  # Wmo 2015 art. 5.3.4 lid 2


def _years_later(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February in a year that has none: the day before
        return moment.replace(year=moment.year + years, day=28)


def destroy_after_for(last_change: datetime) -> datetime:
    return _years_later(last_change, RETENTION_YEARS)


class ExtensionReason(StrEnum):
    """D11: the reasons a case may be kept past its 20 years (each extension is recorded)."""

    LEGAL_PROCEEDINGS = "legal_proceedings"  # the dossier is needed in ongoing proceedings
    STATUTORY_OBLIGATION = "statutory_obligation"  # another statute requires keeping it
    SUBJECT_INTEREST = "subject_interest"  # kept at the request / in the interest of the person concerned


# D12: the reasons that make an extension a legal hold (``vault.services.legal_hold``)
HOLD_REASONS: tuple[str, ...] = (ExtensionReason.LEGAL_PROCEEDINGS, ExtensionReason.STATUTORY_OBLIGATION)


def extend_retention(
    vault: Vault, ctx: Context, case_id: str, *, until: datetime, reason: ExtensionReason
) -> datetime:
    """Keep a case longer than 20 years after its last change; the team leader decides, audited.

    D12: an extension for legal proceedings or a statutory obligation is a legal hold
    (``vault.services.legal_hold``): it may be dated any day from tomorrow (proceedings of two years),
    stops a granted destruction until then, and can be lifted; the destruction date moves only when
    the hold reaches further."""

    def extend(session: Session, _admission: object) -> datetime:
        case = session.get(Case, case_id)
        assert case is not None
        if reason in HOLD_REASONS:
            if local_date(until) <= local_date(ctx.now()):
                raise InvalidInput("a legal hold lasts at least until tomorrow", rule="d12-hold-in-the-past")
        elif until <= case.destroy_after:
            raise InvalidInput("an extension must move the destruction date later")
        if until > _years_later(case.destroy_after, 20):
            raise InvalidInput("one extension may add at most 20 years", rule="retention-too-long")
        session.add(
            RetentionExtension(
                id=str(uuid.uuid4()),
                case_id=case_id,
                previous_destroy_after=case.destroy_after,
                destroy_after=until,
                reason_code=str(reason),
                extended_at=ctx.now(),
                extended_by=ctx.actor_id,
            )
        )
        case.destroy_after = max(case.destroy_after, until)
        session.flush()
        return until

    return pass_gate(
        vault,
        ctx,
        GateRequest(case_id, Action.ADMINISTER),
        tag=AuditTag.RIGHTS_RETENTION_EXTENDED,
        object_type="case",
        object_id=case_id,
        then=extend,
    )


@dataclass(frozen=True)
class Extension:
    """One extension of the retention: when, to which date, why; a legal hold lifted before its date
    (D12) also says when and why it was lifted."""

    at: datetime
    until: datetime
    reason: str
    lifted_at: datetime | None = None
    lift_code: str | None = None


@dataclass(frozen=True)
class Retention:
    destroy_after: datetime
    extensions: tuple[Extension, ...]


def retention_of(vault: Vault, ctx: Context, case_id: str) -> Retention:
    """The case's destruction date and its extensions, for whoever may read the case (fails closed)."""
    if not would_allow(vault, ctx, GateRequest(case_id, Action.READ)):
        raise Forbidden("access refused")
    with vault.db.session() as session:
        destroy_after = session.scalar(select(Case.destroy_after).where(Case.id == case_id))
        if destroy_after is None:
            raise NotFound("no such case")
        rows = session.execute(
            select(
                RetentionExtension.extended_at,
                RetentionExtension.destroy_after,
                RetentionExtension.reason_code,
                RetentionExtension.lifted_at,
                RetentionExtension.lift_code,
            )
            .where(RetentionExtension.case_id == case_id)
            .order_by(RetentionExtension.extended_at)
        ).all()
    return Retention(destroy_after, tuple(Extension(*row) for row in rows))
