"""What a case's disclosures rest on and led to, read through the gate (each read audited): the live
sharing consents the share form offers (D9) and the terugkoppeling for the reporter (D8)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from vault.context import Context
from vault.domain import Action, AuditTag
from vault.models import Consent, Grant, Organisation
from vault.runtime import Vault
from vault.services.gate import Admission, GateRequest, pass_gate
from vault.services.subjects import ConsentScope

__all__ = ["ConsentChoice", "ReporterFeedback", "read_case", "reporter_feedback", "sharing_consents"]

T = TypeVar("T")


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
    audited (``disclosure:consents:listed``)."""

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
    """Terugkoppeling: only whether follow-up started and to which organisations it went."""

    follow_up_started: bool
    handed_to: tuple[str, ...]


def reporter_feedback(vault: Vault, ctx: Context, case_id: str) -> ReporterFeedback:
    """Terugkoppeling for the reporter: READ on the case, audited (``disclosure:feedback:prepared``)."""

    def feedback(session: Session, _admission: Admission) -> ReporterFeedback:
        names: Sequence[str] = session.scalars(
            select(Organisation.name)
            .join(Grant, Grant.org_id == Organisation.id)
            .where(Grant.case_id == case_id)
            .distinct()
            .order_by(Organisation.name)
        ).all()
        return ReporterFeedback(follow_up_started=bool(names), handed_to=tuple(names))

    return read_case(vault, ctx, case_id, AuditTag.DISCLOSURE_FEEDBACK_PREPARED, feedback)
