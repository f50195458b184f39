"""DEMO cases, documents, a disclosure and a break-the-glass access, so every web page shows something.

Fictitious people only (every name carries "DEMO"). Everything goes through the same services as real
work — opening a report, the gate for uploads and reads, the disclosures service — acting as the demo
accounts made by `vault.services.demo`, so the audit log, the work lists and the privacy officer's
pages look as they would in use.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from vault.context import Context
from vault.domain import CaseKind, Category, Role, TriageOutcome
from vault.models import Organisation, User
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


def _team_id(vault: Vault, name: str) -> str:
    from vault.repositories.identity import team_by_name

    with vault.db.session() as session:
        team = team_by_name(session, name)
        assert team is not None
        return team.id


def _text(title: str) -> bytes:
    return (f"{title}\n\nDit is een fictief document voor de demonstratie van de dossierkluis.\n").encode()


def load_demo_cases(vault: Vault, team_name: str, partner_org_name: str) -> None:
    """Three reports for ``team_name`` (one overdue for triage), one for another team, documents, a
    disclosure to ``partner_org_name`` and one break-the-glass read by the demo team leader."""
    worker = _actor(vault, f"demo-{Role.MEDEWERKER.value}")
    leader = _actor(vault, f"demo-{Role.TEAMLEIDER.value}")
    system = Context.system(access_point="demo", clock=vault.clock)
    now = vault.clock.now()
    team_id = _team_id(vault, team_name)
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
    main = case_ids[1]
    for category, title, filename in _DOCUMENTS:
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
    triage.record_triage_outcome(vault, worker, case_ids[0], TriageOutcome.INVESTIGATION)
    # A case of another team, read once with break-the-glass by the team leader (D20 review list).
    with vault.db.session() as session:
        accounts.create_team(session, system, OTHER_TEAM)
    other_team = _team_id(vault, OTHER_TEAM)
    with vault.db.session() as session:
        other = cases.open_case(session, vault, system, kind=CaseKind.REPORT, team_id=other_team).id
    view_case(
        vault, leader, other, break_glass_justification="DEMO: acute zorg om een kind, team Zuid onbereikbaar"
    )
