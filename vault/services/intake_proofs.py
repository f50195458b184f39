"""D5: a public form's proof of work, once used, opened exactly one case.

A proof is used up in the transaction that opens the case (``use_up``, from ``intake.receive``), and
that transaction remembers which case it opened (``intake_receipts``) for as long as the proof could be
sent again (an hour). A form sent again with a used proof — the page sends the same proof again when
the answer to its first send was lost on the way (a dropped connection) — is told the reference of the
case it opened (``AlreadyReceived``), not given a second, identical case, and the person learns the
reference they never saw. Only the sender's page holds the proof (a server-signed challenge and its
solution, sent with the form itself), so no one else can ask which case it opened. A used proof with
no receipt (the case was destroyed since) is refused as before (``pow_replayed``).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from vault.domain import Category, reference_of
from vault.models import AuthAttempt, Document, IntakeReceipt

__all__ = [
    "CHALLENGE_KIND",
    "AlreadyReceived",
    "IntakeRefused",
    "forget_receipts",
    "refuse_if_used",
    "remember_case",
    "use_up",
]

CHALLENGE_KIND = "intake_pow"  # a used proof's row in ``auth_attempts`` (``account_key``: its digest)
_FORM_ACTOR = "public_form"  # ``intake.ACTOR``: who stores a public form's documents
_REPLAY_LOCK = 0x56544B50  # PostgreSQL advisory lock for the replay check ("VTKP")


class IntakeRefused(Exception):
    """A submission was refused before any case was opened; ``reason`` is a code the page explains."""

    def __init__(self, reason: str, retry_after: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class AlreadyReceived(IntakeRefused):
    """The proof opened a case already: this send stores nothing; ``reference`` is that case's, and
    ``attachment`` whether the form's attachment reached it (the first send's may have been cut off)."""

    def __init__(self, reference: str, attachment: bool = False) -> None:
        super().__init__("pow_received")
        self.reference = reference
        self.attachment = attachment


def _has_attachment(session: Session, case_id: str) -> bool:
    """Whether the public form stored an attachment on the case (a row's existence; nothing is read)."""
    found = session.scalar(
        select(Document.id)
        .where(
            Document.case_id == case_id,
            Document.category == str(Category.CORRESPONDENCE),
            Document.created_by == _FORM_ACTOR,
        )
        .limit(1)
    )
    return found is not None


def refuse_if_used(session: Session, digest: str, since: datetime) -> None:
    """Raise ``AlreadyReceived`` (with the reference) when the proof opened a case since ``since``,
    ``IntakeRefused("pow_replayed")`` when it was used and its case is gone; else nothing."""
    used = session.scalar(
        select(func.count())
        .select_from(AuthAttempt)
        .where(
            AuthAttempt.kind == CHALLENGE_KIND,
            AuthAttempt.account_key == digest,
            AuthAttempt.occurred_at > since,
        )
    )
    if not used:
        return
    receipt = session.get(IntakeReceipt, digest)
    if receipt is not None and receipt.received_at > since:
        raise AlreadyReceived(reference_of(receipt.case_id), _has_attachment(session, receipt.case_id))
    raise IntakeRefused("pow_replayed")


def use_up(session: Session, digest: str, now: datetime, since: datetime) -> None:
    """Remember a used proof until it expires, in the transaction that opens the case; refused as
    ``refuse_if_used`` says when it was used since ``since``. The check takes its turn (PostgreSQL: an
    advisory lock; SQLite serialises writers), so one proof sent twice at once opens one case and the
    second send is told its reference."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _REPLAY_LOCK})
    refuse_if_used(session, digest, since)
    session.add(AuthAttempt(id=str(uuid.uuid4()), kind=CHALLENGE_KIND, account_key=digest, occurred_at=now))


def remember_case(session: Session, digest: str, case_id: str, now: datetime) -> None:
    """In the same transaction: the case this proof opened (``refuse_if_used`` tells it)."""
    session.add(IntakeReceipt(challenge_digest=digest, case_id=case_id, received_at=now))


def forget_receipts(session: Session, before: datetime) -> int:
    """Delete the receipts older than ``before`` (the proofs' hour); how many went."""
    gone = session.execute(delete(IntakeReceipt).where(IntakeReceipt.received_at < before))
    return int(getattr(gone, "rowcount", 0) or 0)
