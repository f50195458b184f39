"""DEMO cases, documents, a disclosure and a break-the-glass access, so every web page shows something.

Fictitious people only (every name carries "DEMO"). Everything goes through the same services as real
work — opening a report, the gate for uploads and reads, the disclosures service — acting as the demo
accounts made by `vault.services.demo`, so the audit log, the work lists and the privacy officer's
pages look as they would in use.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import Select, select

from vault.context import Context
from vault.domain import CaseKind, Category, Role, TriageOutcome
from vault.models import BreakGlassAccess, Case, CaseWorkflow, Document, Grant, Organisation, User
from vault.repositories.identity import team_by_name
from vault.runtime import Vault
from vault.services import accounts, cases, disclosures, triage
from vault.services.case_view import view_case
from vault.services.documents import upload_document
from vault.services.subjects import PersonFields, Relation, ReporterFields

__all__ = ["load_demo_cases"]

OTHER_TEAM = "Team Zuid (DEMO)"

_DOCUMENTS = (
    (Category.REPORT, "Melding via telefoon (DEMO)", "melding-demo.txt"),
    (Category.SAFETY_ASSESSMENT, "Veiligheidsbeoordeling (DEMO)", "veiligheid-demo.txt"),
    (Category.SAFETY_CONDITIONS, "Veiligheidsvoorwaarden gezin (DEMO)", "voorwaarden-demo.txt"),
    (Category.CORRESPONDENCE, "Brief aan ouders (DEMO)", "brief-demo.txt"),
)


def _actor(vault: Vault, username: str) -> Context:
    with vault.db.session() as session:
        user = session.scalars(select(User).where(User.username == username)).one()
        return Context(
            actor_id=user.id,
            role=user.role,
            org_id=user.org_id,
            access_point="demo",
            second_factor_verified=True,
            factor_checked_at=vault.clock.now(),
            clock=vault.clock,
        )


def _team_id(vault: Vault, name: str) -> str | None:
    with vault.db.session() as session:
        team = team_by_name(session, name)
        return None if team is None else team.id


def _text(title: str) -> bytes:
    return (f"{title}\n\nDit is een fictief document voor de demonstratie van de dossierkluis.\n").encode()


# -- what a run killed part-way already made (read from what the database keeps in clear) ----------


def _first_cases(vault: Vault, team_id: str, count: int) -> list[str]:
    """The team's first ``count`` cases (the demo's, made before anyone could use the demo), in the
    order they were received."""
    first = select(Case.id).where(Case.team_id == team_id).order_by(Case.created_at, Case.id).limit(count)
    stmt = (
        select(CaseWorkflow.case_id)
        .where(CaseWorkflow.case_id.in_(first.scalar_subquery()))
        .order_by(CaseWorkflow.received_at)
    )
    with vault.db.session() as session:
        return list(session.scalars(stmt))


def _categories_of(vault: Vault, case_id: str) -> set[str]:
    with vault.db.session() as session:
        return set(session.scalars(select(Document.category).where(Document.case_id == case_id)))


def _exists(vault: Vault, stmt: Select[str]) -> bool:
    with vault.db.session() as session:
        return session.scalar(stmt.limit(1)) is not None


def _open_reports(vault: Vault, worker: Context, team_id: str) -> list[str]:
    """Three reports, one transaction: a killed run left all of them or none."""
    now = vault.clock.now()
    people = [
        (Relation.CHILD, PersonFields(name="Sanne DEMO Jansen", date_of_birth=date(2015, 4, 12))),
        (Relation.PARENT, PersonFields(name="Peter DEMO Jansen", date_of_birth=date(1984, 9, 3))),
        (Relation.PARENT, PersonFields(name="Ilse DEMO de Vries", date_of_birth=date(1986, 1, 27))),
    ]
    case_ids = []
    with vault.db.session() as session:
        for days_ago, reporter in (
            (9, "Juf DEMO Bakker"),
            (2, "Buurman DEMO Smit"),
            (0, "Huisarts DEMO Koster"),
        ):
            case = cases.open_report(
                session,
                vault,
                worker,
                team_id=team_id,
                reporter=ReporterFields(name=reporter, professional=days_ago != 2),
                subjects=people if days_ago == 2 else people[:1],
                received_at=now - timedelta(days=days_ago),
            )
            case_ids.append(case.id)
    return case_ids


def load_demo_cases(vault: Vault, team_name: str, partner_org_name: str) -> None:
    """Three reports for ``team_name`` (one overdue for triage), one for another team, documents, a
    disclosure to ``partner_org_name`` and one break-the-glass read by the demo team leader.

    Resumable: after a run killed part-way, the next makes only what is missing (each part is one
    committed transaction, found again by its team, category, organisation, triage outcome or
    emergency access); `vault.services.demo` marks the dataset complete after this returns."""
    worker = _actor(vault, f"demo-{Role.MEDEWERKER.value}")
    leader = _actor(vault, f"demo-{Role.TEAMLEIDER.value}")
    system = Context.system(access_point="demo", clock=vault.clock)
    team_id = _team_id(vault, team_name)
    assert team_id is not None
    reports = _first_cases(vault, team_id, 3) or _open_reports(vault, worker, team_id)
    triaged, main = reports[0], reports[1]
    made = _categories_of(vault, main)
    for category, title, filename in _DOCUMENTS:
        if category.value in made:
            continue
        upload_document(
            vault,
            worker,
            case_id=main,
            category=category,
            title=title,
            filename=filename,
            content_type="text/plain",
            chunks=[_text(title)],
        )
    with vault.db.session() as session:
        org = session.scalars(select(Organisation).where(Organisation.name == partner_org_name)).one()
        org_id = org.id
    if not _exists(vault, select(Grant.id).where(Grant.case_id == main, Grant.org_id == org_id)):
        disclosures.create_disclosure(
            vault,
            worker,
            disclosures.DisclosureRequest(
                case_id=main,
                org_id=org_id,
                purpose="warme overdracht (DEMO)",
                legal_basis="wmo-4.1.1-2-help",
                categories=frozenset({Category.SAFETY_CONDITIONS}),
                contact_name="Medewerker DEMO Veilig Thuis",  # D23: whom the partner calls
                contact_phone="030-1234567",
            ),
        )
    decided = select(CaseWorkflow.case_id).where(
        CaseWorkflow.case_id == triaged, CaseWorkflow.triage_outcome.is_not(None)
    )
    if not _exists(vault, decided):
        triage.record_triage_outcome(vault, worker, triaged, TriageOutcome.INVESTIGATION)
    # A case of another team, read once with break-the-glass by the team leader (D20 review list).
    other_team = _team_id(vault, OTHER_TEAM)
    if other_team is None:
        with vault.db.session() as session:
            other_team = accounts.create_team(session, system, OTHER_TEAM).id
    others = _first_cases(vault, other_team, 1)
    if not others:
        with vault.db.session() as session:
            others = [cases.open_case(session, vault, system, kind=CaseKind.REPORT, team_id=other_team).id]
    read = select(BreakGlassAccess.case_id).where(
        BreakGlassAccess.actor_id == leader.actor_id, BreakGlassAccess.case_id == others[0]
    )
    if not _exists(vault, read):
        view_case(
            vault,
            leader,
            others[0],
            break_glass_justification="DEMO: acute zorg om een kind, team Zuid onbereikbaar",
        )
