"""SQL for case work lists, case lists and the team caseload, case references, the person lookup
(D19) and pseudonym matches (D3).

Only ids, kinds, team names and dates come out of here — never a sealed field. Visibility for work
lists is written once (``_visible``): the actor's teams, or cases assigned to them; ``None`` scope
means the whole organisation (a CLI operator's overview of deadlines).

Case references (``VT-XXXX-XXXX``, ``vault.domain.reference_of``) are the first 8 hex characters of
the case id, so a reference prefix is a prefix of the id: resolved with a range on the primary key of
``cases`` (``id >= p AND id < p || 'g'`` — every character after a hex prefix in an id is a hex digit
or ``-``, all below ``g``), which both SQLite and PostgreSQL answer from the index.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    Subquery,
    and_,
    case,
    exists,
    false,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Session

from vault.domain import CaseKind
from vault.errors import InvalidInput
from vault.models import (
    Case,
    CaseAssignment,
    CaseWorkflow,
    MonitoringCheck,
    Subject,
    Team,
    TeamMembership,
    User,
)

__all__ = [
    "MAX_MATCHES",
    "CaseListRow",
    "CaseRow",
    "DueRow",
    "Load",
    "ReferenceMatch",
    "Scope",
    "assignees",
    "case_ids_for_reference",
    "case_list",
    "caseload_figures",
    "cases_by_index",
    "cases_with_pseudonym",
    "investigations_overdue",
    "monitoring_due",
    "my_cases",
    "reference_matches",
    "reference_prefix",
    "team_members",
    "triage_open",
    "visible_cases",
]

MAX_MATCHES: Final = 50
_HEX = re.compile(r"[0-9a-f]+")


@dataclass(frozen=True)
class Scope:
    """Whose cases a list shows: a user's teams and assignments, or (``everything``) all of them."""

    user_id: str | None
    team_ids: frozenset[str]
    everything: bool = False


@dataclass(frozen=True)
class CaseRow:
    case_id: str
    kind: str
    team_id: str | None
    team_name: str | None
    created_at: datetime


@dataclass(frozen=True)
class DueRow:
    case_id: str
    kind: str
    what: str  # triage | investigation_start | judgement | monitoring_3m | monitoring_12m
    due_on: date
    object_id: str | None = None  # the monitoring moment's id


def _visible(scope: Scope) -> ColumnElement[bool]:
    if scope.everything:
        return Case.id.is_not(None)
    clauses: list[ColumnElement[bool]] = []
    if scope.team_ids:
        clauses.append(Case.team_id.in_(sorted(scope.team_ids)))
    if scope.user_id:
        clauses.append(
            exists().where(and_(CaseAssignment.case_id == Case.id, CaseAssignment.user_id == scope.user_id))
        )
        clauses.append(and_(Case.kind == str(CaseKind.ADVICE_PROFESSIONAL), Case.owner_id == scope.user_id))
    return or_(*clauses) if clauses else false()


def visible_cases(scope: Scope) -> ColumnElement[bool]:
    """The work lists' visibility as a condition on ``Case``, for other lists of case-bound rows
    (destruction and access requests) to join on."""
    return _visible(scope)


def _due_rows(session: Session, stmt: Select[str, str, date | None], scope: Scope, what: str) -> list[DueRow]:
    rows = session.execute(stmt.where(Case.destroyed_at.is_(None), _visible(scope))).all()
    return [DueRow(case_id, kind, what, due) for case_id, kind, due in rows if due is not None]


def my_cases(session: Session, scope: Scope, limit: int = 500) -> list[CaseRow]:
    rows = session.execute(
        select(Case.id, Case.kind, Case.team_id, Team.name, Case.created_at)
        .outerjoin(Team, Team.id == Case.team_id)
        .where(Case.destroyed_at.is_(None), _visible(scope))
        .order_by(Case.created_at.desc())
        .limit(limit)
    ).all()
    return [CaseRow(*row) for row in rows]


def triage_open(session: Session, scope: Scope, *, due_by: date, limit: int = 500) -> list[DueRow]:
    """Reports without a triage outcome whose deadline is on or before ``due_by`` (D5)."""
    stmt = (
        select(Case.id, Case.kind, CaseWorkflow.triage_due)
        .join(CaseWorkflow, CaseWorkflow.case_id == Case.id)
        .where(
            Case.kind == str(CaseKind.REPORT),
            CaseWorkflow.triage_outcome.is_(None),
            CaseWorkflow.triage_due.is_not(None),
            CaseWorkflow.triage_due <= due_by,
        )
        .order_by(CaseWorkflow.triage_due, Case.id)
        .limit(limit)
    )
    return _due_rows(session, stmt, scope, "triage")


def investigations_overdue(session: Session, scope: Scope, *, today: date, limit: int = 500) -> list[DueRow]:
    """Investigations not started by their start date, or without a judgement by its date."""
    start = (
        select(Case.id, Case.kind, CaseWorkflow.investigation_start_due)
        .join(CaseWorkflow, CaseWorkflow.case_id == Case.id)
        .where(
            CaseWorkflow.investigation_started_on.is_(None),
            CaseWorkflow.investigation_start_due.is_not(None),
            CaseWorkflow.investigation_start_due < today,
        )
        .order_by(CaseWorkflow.investigation_start_due)
        .limit(limit)
    )
    judgement = (
        select(Case.id, Case.kind, CaseWorkflow.judgement_due)
        .join(CaseWorkflow, CaseWorkflow.case_id == Case.id)
        .where(
            CaseWorkflow.investigation_ended_on.is_(None),
            CaseWorkflow.judgement_due.is_not(None),
            CaseWorkflow.judgement_due < today,
        )
        .order_by(CaseWorkflow.judgement_due)
        .limit(limit)
    )
    rows = _due_rows(session, start, scope, "investigation_start") + _due_rows(
        session, judgement, scope, "judgement"
    )
    return sorted(rows, key=lambda r: (r.due_on, r.case_id))[:limit]


def monitoring_due(session: Session, scope: Scope, *, due_by: date, limit: int = 500) -> list[DueRow]:
    """Monitoring moments not done whose date is on or before ``due_by`` (D7)."""
    rows = session.execute(
        select(Case.id, Case.kind, MonitoringCheck.due_on, MonitoringCheck.months, MonitoringCheck.id)
        .join(MonitoringCheck, MonitoringCheck.case_id == Case.id)
        .where(
            MonitoringCheck.done_at.is_(None),
            MonitoringCheck.due_on <= due_by,
            Case.destroyed_at.is_(None),
            _visible(scope),
        )
        .order_by(MonitoringCheck.due_on, Case.id)
        .limit(limit)
    ).all()
    return [DueRow(c, k, f"monitoring_{m}m", d, object_id=mid) for c, k, d, m, mid in rows]


def cases_by_index(
    session: Session, *, bsn_index: str | None, person_index: str | None, limit: int = 200
) -> list[CaseRow]:
    """D19: live cases with a subject carrying one of these blind indexes (indexed, no decryption)."""
    matches: list[ColumnElement[bool]] = []
    if bsn_index:
        matches.append(Subject.bsn_index == bsn_index)
    if person_index:
        matches.append(Subject.person_index == person_index)
    if not matches:
        return []
    case_ids = select(Subject.case_id).where(or_(*matches)).distinct().scalar_subquery()
    rows = session.execute(
        select(Case.id, Case.kind, Case.team_id, Team.name, Case.created_at)
        .outerjoin(Team, Team.id == Case.team_id)
        .where(Case.id.in_(case_ids), Case.destroyed_at.is_(None))
        .order_by(Case.created_at)
        .limit(limit)
    ).all()
    return [CaseRow(*row) for row in rows]


def cases_with_pseudonym(session: Session, pseudonym: str | Sequence[str], limit: int = 200) -> list[CaseRow]:
    """D3: live cases (advice, or advice converted into a report) carrying one of the client
    pseudonyms, as their pseudonym or as the name + date of birth one beside a BSN one."""
    wanted = [pseudonym] if isinstance(pseudonym, str) else list(pseudonym)
    if not wanted:
        return []
    rows = session.execute(
        select(Case.id, Case.kind, Case.team_id, Team.name, Case.created_at)
        .join(CaseWorkflow, CaseWorkflow.case_id == Case.id)
        .outerjoin(Team, Team.id == Case.team_id)
        .where(
            or_(
                CaseWorkflow.client_pseudonym.in_(wanted),
                CaseWorkflow.client_pseudonym_name_dob.in_(wanted),
            ),
            Case.destroyed_at.is_(None),
        )
        .order_by(Case.created_at)
        .limit(limit)
    ).all()
    return [CaseRow(*row) for row in rows]


def subject_ids(session: Session, case_id: str) -> Sequence[str]:
    return session.scalars(
        select(Subject.id).where(Subject.case_id == case_id).order_by(Subject.created_at)
    ).all()


# --- Case references ------------------------------------------------------------------------------


def reference_prefix(text: str) -> str:
    """The id prefix a typed reference stands for: ``VT-AB12-CD34``, ``vt-ab12``, ``AB12CD`` → hex.

    A full case id (36 characters, as in older links) is accepted as itself. Anything else — fewer
    than 2 hex characters, other letters — is invalid input."""
    cleaned = text.strip().lower().replace(" ", "")
    if cleaned.startswith("vt"):
        cleaned = cleaned[2:]
    digits = cleaned.replace("-", "")
    if len(digits) == 32 and _HEX.fullmatch(digits) and len(cleaned) == 36:
        return cleaned
    if not 2 <= len(digits) <= 8 or not _HEX.fullmatch(digits):
        raise InvalidInput("a case reference looks like VT-XXXX-XXXX (or its beginning)")
    return digits


def _reference_condition(prefix: str) -> ColumnElement[bool]:
    if len(prefix) == 36:
        return Case.id == prefix
    return and_(Case.id >= prefix, Case.id < prefix + "g")


def case_ids_for_reference(conn: Session | Connection, text: str, *, limit: int = MAX_MATCHES) -> list[str]:
    """The ids of the cases whose reference starts with ``text`` (at most ``limit``, in id order);
    every case, destroyed ones too (the privacy officer's search of the log)."""
    stmt = select(Case.id).where(_reference_condition(reference_prefix(text))).order_by(Case.id).limit(limit)
    return list(conn.execute(stmt).scalars())


@dataclass(frozen=True)
class ReferenceMatch:
    case_id: str
    kind: str
    team_name: str | None
    created_at: datetime
    destroyed: bool


def reference_matches(
    session: Session, scope: Scope, prefix: str, *, limit: int = MAX_MATCHES
) -> list[ReferenceMatch]:
    """The cases within ``scope`` whose id starts with ``prefix`` (``reference_prefix``'s answer)."""
    rows = session.execute(
        select(Case.id, Case.kind, Team.name, Case.created_at, Case.destroyed_at)
        .outerjoin(Team, Team.id == Case.team_id)
        .where(_reference_condition(prefix), _visible(scope))
        .order_by(Case.id)
        .limit(limit)
    ).all()
    return [ReferenceMatch(c, k, t, at, gone is not None) for c, k, t, at, gone in rows]


# --- Case lists and the team caseload -------------------------------------------------------------


@dataclass(frozen=True)
class CaseListRow:
    """One live case with the workflow facts its status and next deadline are derived from."""

    case_id: str
    kind: str
    team_id: str | None
    team_name: str | None
    created_at: datetime
    triage_due: date | None
    triage_outcome: str | None
    investigation_start_due: date | None
    investigation_started_on: date | None
    judgement_due: date | None
    investigation_ended_on: date | None
    monitoring_due: date | None  # the earliest open monitoring moment
    monitoring_open: int  # open monitoring moments
    monitoring_total: int


def _open_checks() -> Subquery:
    """Per case: its earliest open monitoring date, how many moments are open, how many in all."""
    return (
        select(
            MonitoringCheck.case_id.label("case_id"),
            func.min(MonitoringCheck.due_on).filter(MonitoringCheck.done_at.is_(None)).label("due"),
            func.count(MonitoringCheck.id).filter(MonitoringCheck.done_at.is_(None)).label("open"),
            func.count(MonitoringCheck.id).label("total"),
        )
        .group_by(MonitoringCheck.case_id)
        .subquery()
    )


def case_list(
    session: Session, scope: Scope, *, limit: int = 2000, offset: int = 0
) -> tuple[int, list[CaseListRow]]:
    """Live cases in ``scope``, newest first: how many there are, and one page of them."""
    open_checks = _open_checks()
    where = (Case.destroyed_at.is_(None), _visible(scope))
    total = session.scalar(select(func.count(Case.id)).where(*where)) or 0
    rows = session.execute(
        select(
            Case.id,
            Case.kind,
            Case.team_id,
            Team.name,
            Case.created_at,
            CaseWorkflow.triage_due,
            CaseWorkflow.triage_outcome,
            CaseWorkflow.investigation_start_due,
            CaseWorkflow.investigation_started_on,
            CaseWorkflow.judgement_due,
            CaseWorkflow.investigation_ended_on,
            open_checks.c.due,
            func.coalesce(open_checks.c.open, 0),
            func.coalesce(open_checks.c.total, 0),
        )
        .outerjoin(Team, Team.id == Case.team_id)
        .outerjoin(CaseWorkflow, CaseWorkflow.case_id == Case.id)
        .outerjoin(open_checks, open_checks.c.case_id == Case.id)
        .where(*where)
        .order_by(Case.created_at.desc(), Case.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return int(total), [CaseListRow(*row) for row in rows]  # type: ignore[call-arg]


@dataclass(frozen=True)
class Load:
    """How many live cases, and how many overdue deadlines among them."""

    cases: int
    overdue: int


def _overdue_count(open_checks: Subquery, today: date) -> ColumnElement[int]:
    """Per case, its overdue deadlines in SQL: the same four as ``caseload.deadlines_of`` (triage of
    an untriaged report, start and judgement of the investigation, the earliest open monitoring)."""

    def one(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return case((condition, 1), else_=0)

    return (
        one(
            and_(
                Case.kind == str(CaseKind.REPORT),
                CaseWorkflow.triage_outcome.is_(None),
                CaseWorkflow.triage_due < today,
            )
        )
        + one(
            and_(
                CaseWorkflow.investigation_started_on.is_(None),
                CaseWorkflow.investigation_start_due < today,
            )
        )
        + one(and_(CaseWorkflow.investigation_ended_on.is_(None), CaseWorkflow.judgement_due < today))
        + one(open_checks.c.due < today)
    )


def caseload_figures(session: Session, scope: Scope, today: date) -> tuple[dict[str, Load], Load]:
    """Over *every* live case in ``scope`` (SQL aggregates, no cap): per assigned user their
    ``Load``, and the ``Load`` of the cases nobody is assigned to."""
    open_checks = _open_checks()
    per_case = (
        select(Case.id.label("case_id"), _overdue_count(open_checks, today).label("overdue"))
        .outerjoin(CaseWorkflow, CaseWorkflow.case_id == Case.id)
        .outerjoin(open_checks, open_checks.c.case_id == Case.id)
        .where(Case.destroyed_at.is_(None), _visible(scope))
        .subquery()
    )
    carried = session.execute(
        select(
            CaseAssignment.user_id,
            func.count(per_case.c.case_id),
            func.coalesce(func.sum(per_case.c.overdue), 0),
        )
        .join(per_case, per_case.c.case_id == CaseAssignment.case_id)
        .group_by(CaseAssignment.user_id)
    ).all()
    nobody = ~exists().where(CaseAssignment.case_id == per_case.c.case_id)
    alone = session.execute(
        select(func.count(per_case.c.case_id), func.coalesce(func.sum(per_case.c.overdue), 0)).where(nobody)
    ).one()
    members = {user_id: Load(int(n), int(late)) for user_id, n, late in carried}
    return members, Load(int(alone[0]), int(alone[1]))


def assignees(session: Session, case_ids: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
    """Per case: its assigned staff as (user id, username), by username."""
    found: dict[str, list[tuple[str, str]]] = {}
    if not case_ids:
        return found
    rows = session.execute(
        select(CaseAssignment.case_id, User.id, User.username)
        .join(User, User.id == CaseAssignment.user_id)
        .where(CaseAssignment.case_id.in_(sorted(set(case_ids))))
        .order_by(User.username)
    ).all()
    for case_id, user_id, username in rows:
        found.setdefault(case_id, []).append((user_id, username))
    return found


def team_members(session: Session, team_ids: frozenset[str]) -> list[tuple[str, str, str]]:
    """The enabled accounts of these teams as (user id, username, role), by username."""
    if not team_ids:
        return []
    rows = session.execute(
        select(User.id, User.username, User.role)
        .join(TeamMembership, TeamMembership.user_id == User.id)
        .where(TeamMembership.team_id.in_(sorted(team_ids)), User.disabled.is_(False))
        .distinct()
        .order_by(User.username)
    ).all()
    return [(u, n, r) for u, n, r in rows]
