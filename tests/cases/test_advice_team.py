"""D3: a professional's advice always lands in a team (the intake team unless one is named), or is
refused with a reason — never accepted and then visible to nobody (issue 16, item 13)."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from tests.cases.conftest import Staff
from tests.helpers import ctx_for, make_org, make_team, make_user
from vault.context import Context, FrozenClock
from vault.domain import OrgType, Role
from vault.errors import InvalidInput
from vault.models import Case
from vault.runtime import Vault
from vault.services import cases, worklists
from vault.services.case_view import view_case
from vault.services.subjects import PersonFields


def _professional(vault: Vault) -> str:
    return make_user(vault, Role.PROFESSIONAL, org_id=make_org(vault, OrgType.SCHOOL))


def test_d3_professional_advice_without_a_team_lands_in_the_intake_team(
    vault: Vault, staff: Staff, clock: FrozenClock
) -> None:
    clock.advance(minutes=1)
    make_team(vault, "Team Later")  # created after staff.team: the first team stays the intake team
    pro = _professional(vault)
    pctx = ctx_for(vault, pro, Role.PROFESSIONAL)
    with vault.db.session() as session:
        case = cases.open_professional_advice(
            session,
            vault,
            pctx,
            professional_id=pro,
            meldcode_step=2,
            client=PersonFields(name="Jan de Vries", date_of_birth=date(2015, 2, 3)),
        )
        case_id, team_id = case.id, case.team_id
    assert team_id == staff.team
    # Visible to the team that must act on it, and to the professional who asked.
    worker = staff.ctx(vault, staff.worker)
    assert case_id in {row.case_id for row in worklists.my_cases(vault, worker)}
    assert view_case(vault, worker, case_id).team_id == staff.team
    assert view_case(vault, pctx, case_id).owner_id == pro


def test_d3_professional_advice_goes_to_the_configured_intake_team(vault: Vault, staff: Staff) -> None:
    named = make_team(vault, "Team Intake")
    configured = dataclasses.replace(
        vault, settings=vault.settings.model_copy(update={"intake_team": "Team Intake"})
    )
    pro = _professional(vault)
    with vault.db.session() as session:
        case = cases.open_professional_advice(
            session, configured, ctx_for(vault, pro, Role.PROFESSIONAL), professional_id=pro, meldcode_step=1
        )
        assert case.team_id == named


def test_d3_professional_advice_is_refused_with_a_reason_when_no_team_can_receive_it(vault: Vault) -> None:
    pro = _professional(vault)
    with vault.db.session() as session, pytest.raises(InvalidInput, match="team"):
        cases.open_professional_advice(
            session, vault, ctx_for(vault, pro, Role.PROFESSIONAL), professional_id=pro, meldcode_step=1
        )
    with vault.db.session() as session:
        assert session.query(Case).count() == 0


def _advice_case(vault: Vault, staff: Staff) -> tuple[str, Context, str]:
    """A professional, their context, and the advice case they opened with the staff's team."""
    pro = _professional(vault)
    pctx = ctx_for(vault, pro, Role.PROFESSIONAL)
    with vault.db.session() as session:
        case_id = cases.open_professional_advice(
            session, vault, pctx, professional_id=pro, meldcode_step=1, team_id=staff.team
        ).id
    return pro, pctx, case_id


def test_d3_the_professional_sees_no_names_of_the_staff_assigned_to_their_advice(
    vault: Vault, staff: Staff
) -> None:
    """The professional who asked may read their advice case, but the names of Veilig Thuis staff on
    it are not theirs (the timeline shows them roles only); staff see who is assigned."""
    from vault.services import assignments

    _pro, pctx, case_id = _advice_case(vault, staff)
    assert assignments.assign_case(vault, staff.ctx(vault, staff.leader), case_id, staff.worker)
    assert [
        a.user_id for a in assignments.case_assignees(vault, staff.ctx(vault, staff.worker2), case_id)
    ] == [staff.worker]
    assert assignments.case_assignees(vault, pctx, case_id) == []


def test_d3_the_professional_does_not_read_whom_veilig_thuis_shared_their_advice_case_with(
    vault: Vault, staff: Staff
) -> None:
    """The disclosure register (recipients, purposes, bases) is Veilig Thuis's own processing: the
    professional who asked advice is refused it, and the refusal is audited; staff read it."""
    import pytest
    from sqlalchemy import select

    from vault.domain import Category
    from vault.errors import Forbidden
    from vault.models import AuditEntry
    from vault.services import disclosures

    pro, pctx, case_id = _advice_case(vault, staff)
    worker = staff.ctx(vault, staff.worker)
    shared = disclosures.create_disclosure(
        vault,
        worker,
        disclosures.DisclosureRequest(
            case_id=case_id,
            org_id=make_org(vault, OrgType.LOCAL_TEAM),
            purpose="warme overdracht",
            legal_basis="wmo-4.1.1-2-help",
            categories=frozenset({Category.CORRESPONDENCE}),
            contact_name="Sanne de Vries",
            contact_phone="030 123 45 67",
        ),
    )
    assert [g.id for g in disclosures.list_case_disclosures(vault, worker, case_id)] == [shared.id]
    with pytest.raises(Forbidden):
        disclosures.list_case_disclosures(vault, pctx, case_id)
    with vault.db.session() as session:
        refused = session.scalars(
            select(AuditEntry.rule).where(AuditEntry.actor_id == pro, AuditEntry.case_id == case_id)
        ).all()
    assert "d3-register-staff-only" in refused
