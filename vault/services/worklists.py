"""Work lists (D5, D7): my cases, triage due and overdue, investigations overdue, monitoring due.

Ids, kinds and dates only — no content, no personal data — so no case key is touched. Staff see
their teams' cases and cases assigned to them; a professional sees their own advice cases (my cases
only); a CLI operator (``role == "operator"``) sees deadlines across the organisation. Every list
view is audited (``dossier:worklist:viewed``, with the list's name and length).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import NoReturn

from sqlalchemy.orm import Session

from vault.audit import record
from vault.context import Context
from vault.domain import AuditTag, Role
from vault.domain import Decision as Effect
from vault.errors import Forbidden, InvalidInput, VaultError
from vault.repositories import access as access_repo
from vault.repositories import cases as repo
from vault.runtime import Vault
from vault.services.calendar import local_date
from vault.transaction import Refusal, transaction

__all__ = [
    "DueItem",
    "Worklist",
    "investigations_overdue",
    "monitoring_due",
    "my_cases",
    "overdue",
    "refuse_listing",
    "scope_of",
    "triage_due",
]

_MAX_HORIZON_DAYS = 366
_LISTED = AuditTag.DOSSIER_WORKLIST_VIEWED
_OPEN_ENDED = date(9999, 12, 31)


class Worklist(StrEnum):
    MY_CASES = "my_cases"
    TRIAGE = "triage"
    INVESTIGATIONS_OVERDUE = "investigations_overdue"
    MONITORING_DUE = "monitoring_due"
    OVERDUE = "overdue"


@dataclass(frozen=True)
class DueItem:
    case_id: str
    kind: str
    what: str
    due_on: date
    overdue: bool
    object_id: str | None = None


def scope_of(session: Session, ctx: Context, attempted: AuditTag, *, own_advice: bool = False) -> repo.Scope:
    """Whose cases ``ctx`` may list (the one visibility of every list: work lists, case lists,
    finding a case by reference). Anyone who lists no cases is refused: the denial of ``attempted``
    (ids and rule only) is recorded in the caller's ``transaction``, which commits it and raises."""
    if ctx.role == "operator":
        return repo.Scope(None, frozenset(), everything=True)
    actor = access_repo.actor_facts(session, ctx)
    if actor is None or not actor.second_factor_verified:
        refuse_listing(
            session, ctx, attempted, Forbidden("work lists need a verified session"), "d17-second-factor"
        )
    if actor.role.is_staff:
        return repo.Scope(actor.id, actor.team_ids)
    if own_advice and actor.role is Role.PROFESSIONAL:
        return repo.Scope(actor.id, frozenset())
    refuse_listing(session, ctx, attempted, Forbidden("work lists are for staff"), "list-staff-only")


def refuse_listing(
    session: Session, ctx: Context, attempted: AuditTag, error: VaultError, rule: str
) -> NoReturn:
    """Record a refused list (ids and rule only) in the caller's transaction; it commits, then raises."""
    error.rule = rule
    record(
        session,
        ctx,
        AuditTag.DOSSIER_ACCESS_DENIED,
        object_type="worklist",
        object_id=str(attempted),
        decision=Effect.DENY,
        rule=rule,
        details={"attempted": str(attempted)},
    )
    raise Refusal(error)


def _audit(session: Session, ctx: Context, worklist: Worklist, count: int) -> None:
    record(
        session,
        ctx,
        AuditTag.DOSSIER_WORKLIST_VIEWED,
        object_type="worklist",
        object_id=str(worklist),
        details={"list": str(worklist), "count": count},
    )


def _items(rows: list[repo.DueRow], today: date) -> list[DueItem]:
    return [DueItem(r.case_id, r.kind, r.what, r.due_on, r.due_on < today, r.object_id) for r in rows]


def _horizon(today: date, within_days: int | None) -> date:
    if within_days is None:
        return _OPEN_ENDED
    if not 0 <= within_days <= _MAX_HORIZON_DAYS:
        raise InvalidInput(f"within_days is 0 to {_MAX_HORIZON_DAYS}")
    return today + timedelta(days=within_days)


def my_cases(vault: Vault, ctx: Context) -> list[repo.CaseRow]:
    """The actor's team cases and assigned cases (a professional: their own advice cases)."""
    with transaction(vault.db) as session:
        rows = repo.my_cases(session, scope_of(session, ctx, _LISTED, own_advice=True))
        _audit(session, ctx, Worklist.MY_CASES, len(rows))
    return rows


def triage_due(vault: Vault, ctx: Context, *, within_days: int | None = None) -> list[DueItem]:
    """D5: reports awaiting triage (overdue first); ``within_days`` limits to deadlines that soon."""
    today = local_date(ctx.now())
    with transaction(vault.db) as session:
        rows = repo.triage_open(session, scope_of(session, ctx, _LISTED), due_by=_horizon(today, within_days))
        _audit(session, ctx, Worklist.TRIAGE, len(rows))
    return _items(rows, today)


def investigations_overdue(vault: Vault, ctx: Context) -> list[DueItem]:
    """Investigations not started within 5 days, or without a judgement within 10 weeks."""
    today = local_date(ctx.now())
    with transaction(vault.db) as session:
        rows = repo.investigations_overdue(session, scope_of(session, ctx, _LISTED), today=today)
        _audit(session, ctx, Worklist.INVESTIGATIONS_OVERDUE, len(rows))
    return _items(rows, today)


def monitoring_due(vault: Vault, ctx: Context, *, within_days: int = 0) -> list[DueItem]:
    """D7: monitoring moments due today or earlier (or within ``within_days``), not yet done."""
    today = local_date(ctx.now())
    with transaction(vault.db) as session:
        rows = repo.monitoring_due(
            session, scope_of(session, ctx, _LISTED), due_by=_horizon(today, within_days)
        )
        _audit(session, ctx, Worklist.MONITORING_DUE, len(rows))
    return _items(rows, today)


def overdue(vault: Vault, ctx: Context) -> list[DueItem]:
    """Everything past its date: triage, investigation start and judgement, monitoring (D5, D7)."""
    today = local_date(ctx.now())
    yesterday = today - timedelta(days=1)
    with transaction(vault.db) as session:
        scope = scope_of(session, ctx, _LISTED)
        rows = repo.triage_open(session, scope, due_by=yesterday)
        rows += repo.investigations_overdue(session, scope, today=today)
        rows += repo.monitoring_due(session, scope, due_by=yesterday)
        _audit(session, ctx, Worklist.OVERDUE, len(rows))
    return sorted(_items(rows, today), key=lambda i: (i.due_on, i.case_id))
