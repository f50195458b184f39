"""What opening a case needs beyond ``vault.services.cases``: whom to name and earlier advice (D3, D19).

- ``opening_choices``: the opener's own teams (staff open cases only for their team) and the active
  professional accounts an advice to a professional is registered under (D3: owner = the professional).
- ``earlier_advice``: for a professional's advice, the other live advice cases carrying the same client
  pseudonym (D3: "linkable across advice requests about the same person"). Only the matches within the
  actor's own scope (the work lists' visibility: their teams' cases and cases assigned to them) are
  named; the others are only counted, as ``advice_signal`` does. Naming another team's advice about a
  person the opener typed in would be a re-identification, which is the team leader's, with a reason
  (``lookup.reidentify_person``) — so the team leader, too, gets names in scope and a count here.
  Audited as a person lookup on the case (``dossier:person:lookup``, ``by=pseudonym``) with how many
  matched, were named and were counted, and the named case ids (ids only), so the log review (D21)
  sees whether work on a match followed.
- ``advice_signal``: for a report, how many live advice cases carry the pseudonym of one of its
  subjects. Only the number: naming those cases ties a person to a professional's pseudonymised advice,
  which is a re-identification — the team leader's. The subjects are read through the gate; the lookup
  is audited with its count only. Only the first signal of a case is free of the lookup limit (D19):
  asked again, after its subjects were corrected, it is counted as a person lookup (429 over it).
- ``link_report_to_advice``: that re-identification for a report: the team leader, with a typed
  explanation, names the advice cases about the report's subjects — ``lookup.reidentify_person`` with
  reason ``link_report`` per identifiable subject (recorded and audited there, once per matched case).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from vault.audit import record
from vault.context import Context
from vault.domain import Action, AuditTag, CaseKind, Category, Role, reference_of
from vault.domain import Decision as Effect
from vault.errors import Forbidden, InvalidInput, RateLimited
from vault.models import AuditEntry, Case, CaseWorkflow, Organisation, Team, TeamMembership, User
from vault.repositories import access as access_repo
from vault.repositories import cases as cases_repo
from vault.runtime import Vault
from vault.services.calendar import local_date
from vault.services.case_view import read_subjects
from vault.services.cases import client_pseudonyms
from vault.services.gate import GateRequest, would_allow
from vault.services.lookup import (
    REIDENTIFY_ROLES,
    LookupHit,
    ReidentificationReason,
    refuse_lookup,
    reidentify_person,
    take_lookup,
)
from vault.services.subjects import PersonFields

__all__ = [
    "Choice",
    "EarlierAdvice",
    "OpeningChoices",
    "advice_signal",
    "earlier_advice",
    "link_report_to_advice",
    "opening_choices",
]

_EXPLANATION_MIN, _EXPLANATION_MAX = 10, 2000


@dataclass(frozen=True)
class Choice:
    id: str
    name: str
    detail: str | None = None  # a professional's organisation


@dataclass(frozen=True)
class EarlierAdvice:
    """D3: the earlier advice about the same client: named within the actor's scope, else counted."""

    named: list[LookupHit]
    elsewhere: int  # matches outside the actor's scope: a team leader re-identifies to name them


@dataclass(frozen=True)
class OpeningChoices:
    teams: list[Choice]
    professionals: list[Choice]


def _staff(vault: Vault, ctx: Context) -> bool:
    with vault.db.session() as session:
        actor = access_repo.actor_facts(session, ctx)
    return (
        actor is not None
        and actor.role.is_staff
        and actor.second_factor_verified
        and ctx.second_factor_verified
    )


def opening_choices(vault: Vault, ctx: Context) -> OpeningChoices:
    """The opener's teams and the professionals (username, organisation); staff only. Account data only."""
    if not _staff(vault, ctx):
        raise Forbidden("only staff open cases here")
    with vault.db.session() as session:
        teams = session.execute(
            select(Team.id, Team.name)
            .join(TeamMembership, TeamMembership.team_id == Team.id)
            .where(TeamMembership.user_id == ctx.actor_id)
            .order_by(Team.name)
        ).all()
        professionals = session.execute(
            select(User.id, User.username, Organisation.name)
            .outerjoin(Organisation, Organisation.id == User.org_id)
            .where(User.role == str(Role.PROFESSIONAL), User.disabled.is_(False))
            .order_by(User.username)
        ).all()
    return OpeningChoices(
        teams=[Choice(str(i), str(n)) for i, n in teams],
        professionals=[Choice(str(i), str(u), str(o) if o else None) for i, u, o in professionals],
    )


def _hits(rows: list[cases_repo.CaseRow], without: str) -> list[LookupHit]:
    return [
        LookupHit(
            r.case_id, reference_of(r.case_id), r.kind, r.team_id, r.team_name, local_date(r.created_at)
        )
        for r in rows
        if r.case_id != without
    ]


def _readable(vault: Vault, ctx: Context, case_id: str, category: Category) -> None:
    if not _staff(vault, ctx) or not would_allow(
        vault, ctx, GateRequest(case_id, Action.READ, category=category)
    ):
        raise Forbidden("not your case")


def earlier_advice(vault: Vault, ctx: Context, case_id: str) -> EarlierAdvice:
    """D3: the other live advice cases about the same client as this professional's advice; named
    only within the actor's own scope, counted beyond it.

    Staff only: a professional opening their own advice never learns of other professionals' advice
    (they get none, and nothing is looked up)."""
    if ctx.role == Role.PROFESSIONAL:
        return EarlierAdvice([], 0)
    _readable(vault, ctx, case_id, Category.ADVICE)
    with vault.db.session() as session:
        case = session.get(Case, case_id)
        workflow = session.get(CaseWorkflow, case_id)
        if case is None or workflow is None or case.kind != CaseKind.ADVICE_PROFESSIONAL:
            raise InvalidInput("only a professional's advice carries a client pseudonym")
        wanted = [p for p in (workflow.client_pseudonym, workflow.client_pseudonym_name_dob) if p]
        if not wanted:
            return EarlierAdvice([], 0)
        hits = _hits(cases_repo.cases_with_pseudonym(session, wanted), without=case_id)
        actor = access_repo.actor_facts(session, ctx)
        in_scope: set[str] = set()
        if hits and actor is not None:
            scope = cases_repo.Scope(actor.id, actor.team_ids)
            in_scope = set(
                session.scalars(
                    select(Case.id).where(
                        Case.id.in_([h.case_id for h in hits]), cases_repo.visible_cases(scope)
                    )
                )
            )
        named = [h for h in hits if h.case_id in in_scope]
        record(
            session,
            ctx,
            AuditTag.DOSSIER_PERSON_LOOKUP,
            case_id=case_id,
            object_type="case",
            object_id=case_id,
            details={
                "by": "pseudonym",
                "matches": len(hits),
                "named": len(named),
                "counted": len(hits) - len(named),
                # Only the named ids: the counted ones were not revealed (D21 reads these).
                "cases": ",".join(h.case_id for h in named[:5]),
            },
        )
    return EarlierAdvice(named, len(hits) - len(named))


def _birth(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _count_again(vault: Vault, ctx: Context, case_id: str) -> None:
    """D19: the first signal of a report is part of opening it; asked again (the page after opening
    reloaded after a correction of its subjects), it is a person lookup and counts against the actor's
    limit (``lookup.take_lookup``); over it refused before anything is read (429, audited)."""
    wait: int | None = None
    with vault.db.session() as session:
        asked = session.scalar(
            select(AuditEntry.seq)
            .where(AuditEntry.case_id == case_id, AuditEntry.tag == str(AuditTag.DOSSIER_PERSON_LOOKUP))
            .limit(1)
        )
        if asked is not None:
            wait = take_lookup(session, ctx)
            if wait is not None:
                refuse_lookup(session, ctx, by="subjects_pseudonym", case_id=case_id)
    if wait is not None:
        raise RateLimited("too many person lookups; try again later", retry_after=wait)


def advice_signal(vault: Vault, ctx: Context, case_id: str) -> int:
    """D3/D19: how many live advice cases carry the pseudonym of a subject of this report (count only)."""
    _readable(vault, ctx, case_id, Category.SUBJECTS)
    _count_again(vault, ctx, case_id)
    wanted: set[str] = set()
    for person in _identifiable(vault, ctx, case_id):
        wanted.update(client_pseudonyms(vault, person).values())
    with vault.db.session() as session:
        matches = len(_hits(cases_repo.cases_with_pseudonym(session, sorted(wanted)), without=case_id))
        # The matched ids are not named: the worker does not learn them (nothing revealed, D21).
        record(
            session,
            ctx,
            AuditTag.DOSSIER_PERSON_LOOKUP,
            case_id=case_id,
            object_type="case",
            object_id=case_id,
            details={"by": "subjects_pseudonym", "matches": matches},
        )
    return matches


def _identifiable(vault: Vault, ctx: Context, case_id: str) -> list[PersonFields]:
    """The report's subjects that carry a complete identifier (BSN, or name + date of birth)."""
    found = []
    for subject in read_subjects(vault, ctx, case_id):
        born = _birth(subject.date_of_birth)
        complete = subject.name is not None and born is not None
        if subject.bsn is not None or complete:
            found.append(
                PersonFields(
                    bsn=subject.bsn,
                    name=subject.name if complete else None,
                    date_of_birth=born if complete else None,
                )
            )
    return found


def link_report_to_advice(vault: Vault, ctx: Context, case_id: str, *, explanation: str) -> list[LookupHit]:
    """D3: the team leader names the advice cases about this report's subjects (re-identification)."""
    text = explanation.strip() if isinstance(explanation, str) else ""
    if not _EXPLANATION_MIN <= len(text) <= _EXPLANATION_MAX:
        raise InvalidInput(f"explain why, in {_EXPLANATION_MIN} to {_EXPLANATION_MAX} characters")
    if ctx.role not in REIDENTIFY_ROLES or not _staff(vault, ctx):
        with vault.db.session() as session:
            record(
                session,
                ctx,
                AuditTag.DOSSIER_ACCESS_DENIED,
                case_id=case_id,
                object_type="case",
                object_id=case_id,
                decision=Effect.DENY,
                rule="d3-reidentify-role",
                details={"attempted": str(AuditTag.DOSSIER_CLIENT_REIDENTIFIED)},
            )
        raise Forbidden("only a team leader links a report to pseudonymised advice")
    with vault.db.session() as session:
        case = session.get(Case, case_id)
        if case is None or case.kind != CaseKind.REPORT:
            raise InvalidInput("only a report is linked to earlier advice")
    hits: dict[str, LookupHit] = {}
    for person in _identifiable(vault, ctx, case_id):
        found = reidentify_person(
            vault,
            ctx,
            bsn=person.bsn,
            name=person.name,
            date_of_birth=person.date_of_birth,
            reason=ReidentificationReason.LINK_REPORT,
            explanation=text,
        )
        hits.update((h.case_id, h) for h in found.cases if h.case_id != case_id)
    return sorted(hits.values(), key=lambda h: (h.created_on, h.reference))
