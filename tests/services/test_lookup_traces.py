"""What a person lookup and a re-identification leave behind: an entry in the access report of every
case they found (D15, D3, D19), and a sealed explanation that lives no longer than those cases (D11)."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import select

from tests.helpers import ctx_for, make_org, make_team, make_user
from vault import migrate
from vault.audit.sealed import open_sealed
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, OrgType, Role
from vault.models import AuditEntry, Case, CaseWorkflow, ClientReidentification, ClientReidentificationMatch
from vault.runtime import Vault
from vault.services import cases, destruction, lookup, sweep
from vault.services.access_overview import subject_overview
from vault.services.audit_reports import case_access_report
from vault.services.subjects import PersonFields, Relation, ReporterFields

CHILD = PersonFields(name="Sanne de Vries", date_of_birth=date(2015, 4, 1))
OTHER_CHILD = PersonFields(name="Daan Bakker", date_of_birth=date(2014, 9, 9))
EXPLANATION = "Kanarie: juf van het kind meldt blauwe plekken"
REASON = lookup.ReidentificationReason.ACUTE_SAFETY


def _staff(vault: Vault, role: Role, team: str) -> Context:
    return ctx_for(vault, make_user(vault, role, teams=[team]), role)


def _officer(vault: Vault) -> Context:
    return ctx_for(vault, make_user(vault, Role.PRIVACY_OFFICER), Role.PRIVACY_OFFICER)


def _advice(vault: Vault, ctx: Context, team: str, client: PersonFields) -> str:
    pro = make_user(vault, Role.PROFESSIONAL, org_id=make_org(vault, OrgType.SCHOOL))
    with vault.db.session() as session:
        return cases.open_professional_advice(
            session, vault, ctx, professional_id=pro, meldcode_step=2, team_id=team, client=client
        ).id


def _report(vault: Vault, ctx: Context, team: str) -> str:
    with vault.db.session() as session:
        return cases.open_report(
            session,
            vault,
            ctx,
            team_id=team,
            reporter=ReporterFields(name="Buurvrouw", professional=False),
            subjects=[(Relation.CHILD, CHILD)],
        ).id


def _fg_page(vault: Vault, case_id: str) -> list[tuple[str, str]]:
    """(action, actor id) of each line of the privacy officer's access report of the case."""
    officer = _officer(vault)
    with vault.db.session() as session:
        report = case_access_report(session, vault, officer, case_id)
    return [(line["action"], line["actor_id"]) for line in report["accesses"]]


def _explanation(vault: Vault, row_id: str) -> str | None:
    with vault.db.session() as session:
        row = session.get(ClientReidentification, row_id)
        assert row is not None
        return open_sealed(
            vault,
            table="client_reidentifications",
            column="explanation",
            row_id=row_id,
            sealed=row.explanation_enc,
        )


# --- D15: the cases found show who found them ---------------------------------------------------------


def test_d15_d19_lookup_by_another_team_is_in_the_access_report_of_the_case_it_found(vault: Vault) -> None:
    team = make_team(vault)
    report = _report(vault, _staff(vault, Role.MEDEWERKER, team), team)
    stranger = _staff(vault, Role.MEDEWERKER, make_team(vault))

    hits = lookup.lookup_person(vault, stranger, name="Sanne de Vries", date_of_birth=date(2015, 4, 1))

    assert [h.case_id for h in hits] == [report]
    lookup_line = (str(AuditTag.DOSSIER_PERSON_LOOKUP), str(stranger.actor_id))
    assert lookup_line in _fg_page(vault, report)
    officer = _officer(vault)
    with vault.db.session() as session:
        overview = subject_overview(session, vault, officer, report)  # what the person is handed
    assert str(AuditTag.DOSSIER_PERSON_LOOKUP) in [line["action"] for line in overview["lines"]]
    with vault.db.session() as session:
        entries = list(
            session.scalars(
                select(AuditEntry)
                .where(AuditEntry.tag == str(AuditTag.DOSSIER_PERSON_LOOKUP))
                .order_by(AuditEntry.seq)
            )
        )
    # The case's entry first, then the one the log review reads (D21): ids and counts only.
    assert [e.case_id for e in entries] == [report, None]
    assert json.loads(entries[0].details) == {"by": "name_dob", "matches": 1}
    assert json.loads(entries[1].details) == {"by": "name_dob", "matches": 1, "cases": report}
    logged = json.dumps([[e.object_id, e.details, e.purpose] for e in entries])
    assert "Sanne" not in logged
    assert "2015-04-01" not in logged


def test_d15_d19_lookup_without_a_match_is_logged_once_without_a_case(vault: Vault) -> None:
    team = make_team(vault)
    _report(vault, _staff(vault, Role.MEDEWERKER, team), team)
    worker = _staff(vault, Role.MEDEWERKER, team)
    assert lookup.lookup_person(vault, worker, name="Niemand Bekend", date_of_birth=date(2015, 4, 1)) == []
    with vault.db.session() as session:
        entries = list(
            session.scalars(select(AuditEntry).where(AuditEntry.tag == str(AuditTag.DOSSIER_PERSON_LOOKUP)))
        )
    assert [(e.case_id, json.loads(e.details)) for e in entries] == [
        (None, {"by": "name_dob", "matches": 0, "cases": ""})
    ]


def test_d3_d15_reidentify_client_is_in_the_access_report_of_the_advice_case(vault: Vault) -> None:
    team = make_team(vault)
    worker = _staff(vault, Role.MEDEWERKER, team)
    leader = _staff(vault, Role.TEAMLEIDER, team)
    advice = _advice(vault, worker, team, CHILD)
    again = _advice(vault, worker, team, CHILD)
    with vault.db.session() as session:
        workflow = session.get(CaseWorkflow, advice)
        assert workflow is not None
        pseudonym = workflow.client_pseudonym
    assert pseudonym is not None

    found = lookup.reidentify_client(vault, leader, pseudonym=pseudonym, reason=REASON)

    assert [h.case_id for h in found.cases] == [advice, again]
    line = (str(AuditTag.DOSSIER_CLIENT_REIDENTIFIED), str(leader.actor_id))
    assert line in _fg_page(vault, advice)
    assert line in _fg_page(vault, again)
    with vault.db.session() as session:
        entries = list(
            session.scalars(
                select(AuditEntry).where(AuditEntry.tag == str(AuditTag.DOSSIER_CLIENT_REIDENTIFIED))
            )
        )
    assert [e.case_id for e in entries] == [advice, again]
    for entry in entries:
        assert (entry.object_id, entry.purpose) == (pseudonym, str(REASON))
        assert json.loads(entry.details) == {"reason": str(REASON), "matches": 2}


def test_d3_reidentify_client_without_a_match_is_logged_once_without_a_case(vault: Vault) -> None:
    leader = _staff(vault, Role.TEAMLEIDER, make_team(vault))
    unknown = cases.client_pseudonym(vault, OTHER_CHILD)
    assert lookup.reidentify_client(vault, leader, pseudonym=unknown, reason=REASON).cases == []
    with vault.db.session() as session:
        entries = list(
            session.scalars(
                select(AuditEntry).where(AuditEntry.tag == str(AuditTag.DOSSIER_CLIENT_REIDENTIFIED))
            )
        )
    assert [(e.case_id, e.object_id) for e in entries] == [(None, unknown)]


# --- D11: the explanation goes with the cases it concerns ------------------------------------------


def _two_advice_and_one_other(vault: Vault) -> tuple[str, str, str, str, str]:
    """Advice cases ``first`` and ``second`` about one child and ``other`` about another; one
    re-identification of each child. Returns (first, second, other, about_child, about_other)."""
    team = make_team(vault)
    worker = _staff(vault, Role.MEDEWERKER, team)
    leader = _staff(vault, Role.TEAMLEIDER, team)
    first = _advice(vault, worker, team, CHILD)
    second = _advice(vault, worker, team, CHILD)
    other = _advice(vault, worker, team, OTHER_CHILD)
    about_child = lookup.reidentify_person(
        vault,
        leader,
        name=CHILD.name,
        date_of_birth=CHILD.date_of_birth,
        reason=REASON,
        explanation=EXPLANATION,
    ).reidentification_id
    about_other = lookup.reidentify_person(
        vault,
        leader,
        name=OTHER_CHILD.name,
        date_of_birth=OTHER_CHILD.date_of_birth,
        reason=REASON,
        explanation=EXPLANATION,
    ).reidentification_id
    return first, second, other, about_child, about_other


def _matches(vault: Vault) -> set[tuple[str, str]]:
    with vault.db.session() as session:
        rows = session.execute(
            select(
                ClientReidentificationMatch.reidentification_id, ClientReidentificationMatch.matched_case_id
            )
        ).all()
    return {(r, c) for r, c in rows}


def test_d11_forget_reidentifications_erases_the_explanation_once_every_matched_case_is_destroyed(
    vault: Vault,
) -> None:
    first, second, other, about_child, about_other = _two_advice_and_one_other(vault)
    assert _matches(vault) == {(about_child, first), (about_child, second), (about_other, other)}

    # As destruction does, in its transaction: the case marked destroyed, then its explanations.
    with vault.db.session() as session:
        case = session.get(Case, first)
        assert case is not None
        case.destroyed_at = vault.clock.now()
        assert lookup.forget_reidentifications(session, first) == []  # ``second`` is still live
    assert _explanation(vault, about_child) == EXPLANATION

    with vault.db.session() as session:  # the case counts as gone even before destroyed_at is set
        assert lookup.forget_reidentifications(session, second) == [about_child]
        assert lookup.forget_reidentifications(session, second) == []  # rerun: nothing more
    assert _explanation(vault, about_child) is None
    assert _explanation(vault, about_other) == EXPLANATION  # another person's, other case: untouched
    with vault.db.session() as session:
        kept = session.get(ClientReidentification, about_child)
        assert kept is not None  # the trail stays: who, when, why (a code), how, how many, which cases
        assert (kept.reason_code, kept.searched_by, kept.matches) == (str(REASON), "name_dob", 2)
    assert (about_child, first) in _matches(vault)


def test_d11_destroying_the_matched_case_leaves_the_reidentification_explanation_unreadable(
    vault: Vault,
) -> None:
    first, second, other, about_child, about_other = _two_advice_and_one_other(vault)
    operator = Context(actor_id="os:test", role="operator", access_point="cli", clock=vault.clock)
    destruction.destroy_case(vault, operator, first, reason="request_granted")
    assert _explanation(vault, about_child) == EXPLANATION  # ``second`` still concerns it
    destruction.destroy_case(vault, operator, second, reason="request_granted")
    destruction.destroy_case(vault, operator, other, reason="retention_expired")
    assert _explanation(vault, about_child) is None
    assert _explanation(vault, about_other) is None
    assert {r for r, _ in _matches(vault)} == {about_child, about_other}  # the ids stay


def test_d11_migration_links_earlier_reidentifications_and_erases_those_of_destroyed_cases(
    vault: Vault,
) -> None:
    first, second, other, about_child, about_other = _two_advice_and_one_other(vault)
    with vault.db.session() as session:  # destroyed before this revision: no forgetting then
        for case_id in (first, second):
            case = session.get(Case, case_id)
            assert case is not None
            case.destroyed_at = vault.clock.now()
    migrate.downgrade(vault.db.engine, "0019")
    migrate.upgrade(vault.db.engine)
    # The matches come back from the audit entries (one per matched case, object = the record).
    assert _matches(vault) == {(about_child, first), (about_child, second), (about_other, other)}
    assert _explanation(vault, about_child) is None
    assert _explanation(vault, about_other) == EXPLANATION


def test_d11_the_explanation_of_a_reidentification_that_matched_nothing_is_erased_after_a_year(
    vault: Vault, clock: FrozenClock
) -> None:
    """It concerns no case, so no destruction ends it: the retention sweep erases it a year on."""
    *_, about_child, about_other = _two_advice_and_one_other(vault)
    team = make_team(vault)
    leader = _staff(vault, Role.TEAMLEIDER, team)
    nobody = lookup.reidentify_person(
        vault, leader, bsn="111222333", reason=REASON, explanation=EXPLANATION
    ).reidentification_id
    operator = Context(actor_id="os:test", role="operator", access_point="cli", clock=vault.clock)

    clock.advance(days=365)  # the year is not over: the log review and a complaint can still read it
    assert sweep.sweep_unmatched_explanations(vault, operator) == 0
    assert _explanation(vault, nobody) == EXPLANATION

    clock.advance(days=2)
    assert sweep.sweep_unmatched_explanations(vault, operator, dry_run=True) == 1
    assert _explanation(vault, nobody) == EXPLANATION  # a dry run erases nothing
    assert sweep.sweep_unmatched_explanations(vault, operator) == 1
    assert _explanation(vault, nobody) is None
    assert sweep.sweep_unmatched_explanations(vault, operator) == 0  # rerun: nothing more
    # Those that matched live cases stay as long as their cases do.
    assert _explanation(vault, about_child) == _explanation(vault, about_other) == EXPLANATION
    with vault.db.session() as session:
        kept = session.get(ClientReidentification, nobody)
        assert kept is not None
        assert (kept.reason_code, kept.matches) == (str(REASON), 0)
        swept = session.scalars(
            select(AuditEntry).where(AuditEntry.tag == str(AuditTag.SYSTEM_RETENTION_SWEPT))
        ).all()
    assert [json.loads(e.details) for e in swept] == [{"reidentification_explanations_erased": 1}]
