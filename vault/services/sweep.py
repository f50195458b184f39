"""The retention sweep (D11): every case past its ``destroy_after`` is destroyed by erasing its key
(``destruction.destroy_expired_case``), one transaction per case, which reads the case again and keeps
it when its ``destroy_after`` moved ahead since the list was made (extended, or changed); then the
explanations of re-identifications that matched no case are erased after a year
(``lookup.forget_unmatched_reidentifications``). Safe to rerun."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from vault.audit import record
from vault.context import Context
from vault.domain import AuditTag
from vault.errors import Conflict
from vault.models import Case, DestructionCertificate
from vault.runtime import Vault
from vault.services.destruction import destroy_expired_case
from vault.services.destruction_ends import ACCESS_REQUEST_OPEN, access_is_asked
from vault.services.lookup import forget_unmatched_reidentifications

__all__ = ["SweepItem", "expired_case_ids", "sweep_expired", "sweep_unmatched_explanations"]


@dataclass(frozen=True)
class SweepItem:
    case_id: str
    destroy_after: datetime
    done: int
    total: int
    waits: bool = False  # passed over: an access request about the case is open (answer it first)
    kept: bool = False  # not expired any more: extended or changed after the sweep listed it


def expired_case_ids(vault: Vault, now: datetime) -> list[str]:
    with vault.db.session() as session:
        return list(
            session.scalars(
                select(Case.id)
                .where(Case.destroy_after <= now)
                .where(
                    Case.destroyed_at.is_(None)
                    | ~select(DestructionCertificate.id)
                    .where(DestructionCertificate.case_id == Case.id)
                    .exists()
                )
                .order_by(Case.destroy_after, Case.id)
            )
        )


def sweep_expired(vault: Vault, ctx: Context, *, dry_run: bool = False) -> Iterator[SweepItem]:
    """Destroy every case past its retention deadline, one transaction per case; safe to rerun. A case
    with an open access request waits for its answer (``destruction_ends``): the next sweep takes it.
    A case whose ``destroy_after`` moved ahead since the list was made is kept (``kept``); the audit
    summary counts it (``kept``, present when not 0)."""
    ids = expired_case_ids(vault, ctx.now())
    waiting = kept = 0
    for n, case_id in enumerate(ids, start=1):
        with vault.db.session() as session:
            case = session.get(Case, case_id)
            assert case is not None
            deadline = case.destroy_after
            waits = case.destroyed_at is None and access_is_asked(session, case_id)
        still_due = True
        if not dry_run and not waits:
            try:
                still_due = destroy_expired_case(vault, ctx, case_id) is not None
            except Conflict as exc:  # a request recorded since: the destruction refused, nothing changed
                if exc.rule != ACCESS_REQUEST_OPEN:
                    raise
                waits = True
        waiting += waits
        kept += not still_due
        yield SweepItem(case_id, deadline, n, len(ids), waits, kept=not still_due)
    if not dry_run:
        with vault.db.session() as session:
            details = {"destroyed": len(ids) - waiting - kept, "waiting": waiting}
            if kept:
                details["kept"] = kept
            record(session, ctx, AuditTag.SYSTEM_RETENTION_SWEPT, details=details)


def sweep_unmatched_explanations(vault: Vault, ctx: Context, *, dry_run: bool = False) -> int:
    """Erase the explanations of re-identifications that matched no case, once a year old; returns
    how many (``dry_run``: how many would be)."""
    with vault.db.session() as session:
        erased = forget_unmatched_reidentifications(session, ctx.now(), dry_run=dry_run)
        if erased and not dry_run:
            record(
                session,
                ctx,
                AuditTag.SYSTEM_RETENTION_SWEPT,
                details={"reidentification_explanations_erased": erased},
            )
    return erased
