"""Case lists people work by (issue 17): finding a case by its reference, "my cases" and the team
leader's caseload — per case the reference, the family name (to whoever may see subjects), kind,
status, assignees and next deadline.

Visibility is the work lists' one scope (``worklists.scope_of``): the actor's teams and the cases
assigned to them (a professional: their own advice cases). A case outside it is never offered.

Family names are case content. For the cases on the page shown (never the whole list), in one
transaction, each case's name goes through the gate: ``decide`` first (a case whose subjects the
actor may not read shows no name and leaves no denial nobody asked for), then ``admit`` — a READ
decision for ``Category.SUBJECTS`` with its own audit entry ``dossier:family-name:read`` on that
case — and ``decrypt_case_field`` opens the one name field. So the case's timeline and its access
report (D15) show every list that showed its family name. The family name is the achternaam of the
main subject (the first child, else the help seeker, else the first subject), taken from the full
name with its tussenvoegsels ("Anna van der Berg" → "van der Berg").

Status (derived from the workflow; no status column): ``triage`` (a report awaiting its triage
outcome, D5), ``investigation`` (outcome onderzoek, no judgement yet), ``monitoring`` (an open
monitoring moment, D7, or the outcome "voorwaarden en vervolg"), ``advice`` (an advice case, which
is never triaged), else ``closed``. The next deadline is the earliest open one of triage, start of
the investigation, judgement and monitoring.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from vault.audit import record
from vault.context import Context
from vault.domain import STAFF_ROLES, Action, AuditTag, CaseKind, Category, Role, TriageOutcome, reference_of
from vault.domain import Decision as Effect
from vault.errors import Forbidden, InvalidInput
from vault.models import Subject
from vault.repositories import access as access_repo
from vault.repositories import cases as repo
from vault.runtime import Vault
from vault.services.calendar import local_date
from vault.services.gate import Admission, GateRequest, admit, decide, decrypt_case_field
from vault.services.worklists import Worklist, scope_of
from vault.transaction import Refusal, transaction

__all__ = [
    "CaseLine",
    "CasePage",
    "CaseStatus",
    "Deadline",
    "MemberLoad",
    "TeamCaseload",
    "deadlines_of",
    "family_name",
    "find_by_reference",
    "my_case_list",
    "status_of",
    "team_caseload",
]

PER_PAGE = 25
_NONE = repo.Load(0, 0)  # a member who carries no case
_MIN_REFERENCE_DIGITS = 4
# Dutch tussenvoegsels: where the family name starts in a full name.
_PARTICLES = frozenset(
    {
        "van",
        "de",
        "der",
        "den",
        "het",
        "ter",
        "ten",
        "te",
        "'t",
        "in",
        "op",
        "aan",
        "bij",
        "uit",
        "la",
        "le",
        "du",
    }
)
_MAIN_RELATIONS = ("child", "help_seeker")


class CaseStatus(StrEnum):
    TRIAGE = "triage"
    INVESTIGATION = "investigation"
    MONITORING = "monitoring"
    ADVICE = "advice"
    CLOSED = "closed"


@dataclass(frozen=True)
class Deadline:
    what: str  # triage | investigation_start | judgement | monitoring
    due_on: date
    overdue: bool


@dataclass(frozen=True)
class CaseLine:
    case_id: str
    reference: str
    kind: str
    team_name: str | None
    status: CaseStatus
    next_deadline: Deadline | None
    assignees: tuple[str, ...]  # usernames; empty for an actor who is not staff
    family_name: str | None = field(repr=False)  # None: not shown to this actor, or no name recorded


@dataclass(frozen=True)
class CasePage:
    lines: list[CaseLine]
    total: int
    page: int
    pages: int


@dataclass(frozen=True)
class MemberLoad:
    username: str
    role: str
    cases: int
    overdue: int


@dataclass(frozen=True)
class TeamCaseload:
    cases: CasePage
    members: list[MemberLoad]
    unassigned: int
    unassigned_overdue: int


@dataclass(frozen=True)
class ReferenceMatch:
    case_id: str
    reference: str
    kind: str
    team_name: str | None
    created_on: date
    destroyed: bool


def family_name(full_name: str) -> str:
    """The achternaam in a full name: from the first tussenvoegsel after the first name, else the
    last word ("Kees de Vries" → "de Vries", "Kanarie Kind Jansen" → "Jansen")."""
    words = full_name.split()
    if len(words) <= 1:
        return full_name.strip()
    for i, word in enumerate(words[1:-1], start=1):
        if word.lower() in _PARTICLES:
            return " ".join(words[i:])
    return words[-1]


def status_of(row: repo.CaseListRow) -> CaseStatus:
    if row.monitoring_open:
        return CaseStatus.MONITORING
    if row.kind != CaseKind.REPORT:
        return CaseStatus.ADVICE
    if row.triage_outcome is None:
        return CaseStatus.TRIAGE
    if row.triage_outcome == TriageOutcome.INVESTIGATION and row.investigation_ended_on is None:
        return CaseStatus.INVESTIGATION
    if row.triage_outcome == TriageOutcome.CONDITIONS_FOLLOWUP:
        return CaseStatus.MONITORING
    return CaseStatus.CLOSED


def deadlines_of(row: repo.CaseListRow, today: date) -> list[Deadline]:
    """The case's open deadlines, earliest first (D5 triage, investigation, D7 monitoring)."""
    found: list[tuple[str, date]] = []
    if row.kind == CaseKind.REPORT and row.triage_outcome is None and row.triage_due:
        found.append(("triage", row.triage_due))
    if row.investigation_started_on is None and row.investigation_start_due:
        found.append(("investigation_start", row.investigation_start_due))
    if row.investigation_ended_on is None and row.judgement_due:
        found.append(("judgement", row.judgement_due))
    if row.monitoring_due:
        found.append(("monitoring", row.monitoring_due))
    return [Deadline(what, due, due < today) for what, due in sorted(found, key=lambda d: d[1])]


def _pages(total: int, page: int) -> tuple[int, int]:
    pages = max(1, math.ceil(total / PER_PAGE))
    return min(max(page, 1), pages), pages


def _main_subjects(session: Session, case_ids: Sequence[str]) -> dict[str, tuple[str, bytes]]:
    """Per case the main subject's id and sealed name (nothing is decrypted here)."""
    rows = session.execute(
        select(Subject.case_id, Subject.id, Subject.relation, Subject.name_enc)
        .where(Subject.case_id.in_(sorted(set(case_ids))), Subject.name_enc.is_not(None))
        .order_by(Subject.created_at, Subject.id)
    ).all()
    chosen: dict[str, tuple[int, str, bytes]] = {}
    for case_id, subject_id, relation, sealed in rows:
        if sealed is None:
            continue
        rank = _MAIN_RELATIONS.index(relation) if relation in _MAIN_RELATIONS else len(_MAIN_RELATIONS)
        if case_id not in chosen or rank < chosen[case_id][0]:
            chosen[case_id] = (rank, subject_id, sealed)
    return {case_id: (subject_id, sealed) for case_id, (_, subject_id, sealed) in chosen.items()}


def _family_names(session: Session, vault: Vault, ctx: Context, case_ids: Sequence[str]) -> dict[str, str]:
    """The family names the actor may see, each read through the gate with its own audit entry."""
    names: dict[str, str] = {}
    for case_id, (subject_id, sealed) in _main_subjects(session, case_ids).items():
        req = GateRequest(case_id, Action.READ, category=Category.SUBJECTS)
        facts = access_repo.decision_facts(session, ctx, case_id)
        if not decide(session, vault, ctx, req, facts)[3].allowed:
            continue

        def read(
            _: Session, admission: Admission, subject_id: str = subject_id, sealed: bytes = sealed
        ) -> str:
            return decrypt_case_field(
                admission, table="subjects", column="name", row_id=subject_id, value=sealed
            )

        full = admit(
            session,
            vault,
            ctx,
            req,
            tag=AuditTag.DOSSIER_FAMILY_NAME_READ,
            object_type="case_list",
            object_id=subject_id,
            then=read,
            facts=facts,
        )
        names[case_id] = family_name(full)
    return names


def _lines(
    session: Session,
    vault: Vault,
    ctx: Context,
    rows: Sequence[repo.CaseListRow],
    assigned: dict[str, list[tuple[str, str]]],
    *,
    staff: bool,
) -> list[CaseLine]:
    today = local_date(ctx.now())
    names = _family_names(session, vault, ctx, [r.case_id for r in rows])
    lines = []
    for row in rows:
        deadlines = deadlines_of(row, today)
        lines.append(
            CaseLine(
                case_id=row.case_id,
                reference=reference_of(row.case_id),
                kind=row.kind,
                team_name=row.team_name,
                status=status_of(row),
                next_deadline=deadlines[0] if deadlines else None,
                assignees=tuple(name for _, name in assigned.get(row.case_id, [])) if staff else (),
                family_name=names.get(row.case_id),
            )
        )
    return lines


def my_case_list(vault: Vault, ctx: Context, *, page: int = 1) -> CasePage:
    """The actor's cases (the work lists' scope), newest first, one page of ``PER_PAGE``; audited as
    the ``my_cases`` work list, plus one ``dossier:family-name:read`` per name shown."""
    with transaction(vault.db) as session:
        scope = scope_of(session, ctx, AuditTag.DOSSIER_WORKLIST_VIEWED, own_advice=True)
        total, _ = repo.case_list(session, scope, limit=0)
        page, pages = _pages(total, page)
        _, rows = repo.case_list(session, scope, limit=PER_PAGE, offset=(page - 1) * PER_PAGE)
        record(
            session,
            ctx,
            AuditTag.DOSSIER_WORKLIST_VIEWED,
            object_type="worklist",
            object_id=str(Worklist.MY_CASES),
            details={"list": str(Worklist.MY_CASES), "count": total, "page": page},
        )
        staff = ctx.role in STAFF_ROLES
        assigned = repo.assignees(session, [r.case_id for r in rows]) if staff else {}
        lines = _lines(session, vault, ctx, rows, assigned, staff=staff)
    return CasePage(lines, total, page, pages)


def team_caseload(vault: Vault, ctx: Context, *, page: int = 1) -> TeamCaseload:
    """The team leader's caseload: every live case of their teams, and per team member how many of
    them they carry (are assigned) and how many of those cases' deadlines are overdue. The figures are
    SQL aggregates over all live cases of the teams (kept 20 years, D11: no cap); one page of
    ``PER_PAGE`` cases is read, as in ``my_case_list``.

    Only for a team leader with a second factor; anyone else is refused (403) and the refusal is
    audited (``dossier:caseload:viewed``, deny)."""
    with transaction(vault.db) as session:
        actor = access_repo.actor_facts(session, ctx)
        if actor is None or not actor.second_factor_verified or actor.role is not Role.TEAMLEIDER:
            record(
                session,
                ctx,
                AuditTag.DOSSIER_CASELOAD_VIEWED,
                object_type="caseload",
                decision=Effect.DENY,
                rule="teamleider-only",
            )
            raise Refusal(Forbidden("the team caseload is for team leaders"))
        scope = repo.Scope(None, actor.team_ids)
        # The figures count every live case of the teams (SQL aggregates); only the page is read.
        carried, alone = repo.caseload_figures(session, scope, local_date(ctx.now()))
        members = [
            MemberLoad(username, role, carried.get(user_id, _NONE).cases, carried.get(user_id, _NONE).overdue)
            for user_id, username, role in repo.team_members(session, actor.team_ids)
        ]
        total, _ = repo.case_list(session, scope, limit=0)
        page, pages = _pages(total, page)
        _, shown = repo.case_list(session, scope, limit=PER_PAGE, offset=(page - 1) * PER_PAGE)
        assigned = repo.assignees(session, [r.case_id for r in shown])
        record(
            session,
            ctx,
            AuditTag.DOSSIER_CASELOAD_VIEWED,
            object_type="caseload",
            details={"count": total, "page": page},
        )
        lines = _lines(session, vault, ctx, shown, assigned, staff=True)
    return TeamCaseload(
        cases=CasePage(lines, total, page, pages),
        members=members,
        unassigned=alone.cases,
        unassigned_overdue=alone.overdue,
    )


def find_by_reference(vault: Vault, ctx: Context, text: str) -> list[ReferenceMatch]:
    """The cases within the actor's scope whose reference starts with ``text`` (``VT-XXXX-XXXX``,
    ``vt-xxxx``, ``XXXXXXXX``, at least 4 hex characters; or a full case id). Audited as
    ``dossier:reference:searched`` with the count (and the case, when exactly one matched).
    Raises ``InvalidInput`` for text that is no reference; ``Forbidden`` for a role with no cases."""
    prefix = repo.reference_prefix(text)
    if len(prefix.replace("-", "")) < _MIN_REFERENCE_DIGITS:
        raise InvalidInput("a case reference has at least 4 characters after VT-")
    with transaction(vault.db) as session:
        scope = scope_of(session, ctx, AuditTag.DOSSIER_REFERENCE_SEARCHED, own_advice=True)
        found = repo.reference_matches(session, scope, prefix)
        record(
            session,
            ctx,
            AuditTag.DOSSIER_REFERENCE_SEARCHED,
            case_id=found[0].case_id if len(found) == 1 else None,
            object_type="reference",
            object_id=prefix[:8],
            details={"count": len(found)},
        )
    return [
        ReferenceMatch(
            m.case_id, reference_of(m.case_id), m.kind, m.team_name, local_date(m.created_at), m.destroyed
        )
        for m in found
    ]
