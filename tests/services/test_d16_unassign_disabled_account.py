"""D15/D16 ("who could see this case" must be closable): the team leader ends the assignment of a
worker whose account was disabled (left the organisation) or whose role is no longer a staff role.
Ending an assignment needs only the assignment; the account checks (exists, enabled, staff) apply to
a new assignment only. The end is audited like any unassign (tag, case id, the assignee's id)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.helpers import ctx_for, make_team, make_user
from vault.domain import AuditTag, Role
from vault.errors import Conflict, NotFound
from vault.models import AuditEntry, CaseAssignment, User
from vault.runtime import Vault
from vault.services import assignments
from vault.services.cases import open_help_seeker_advice


def _set_user(vault: Vault, user_id: str, *, disabled: bool | None = None, role: Role | None = None) -> None:
    with vault.db.session() as session:
        user = session.get(User, user_id)
        assert user is not None
        if disabled is not None:
            user.disabled = disabled
        if role is not None:
            user.role = str(role)


def _unassigned_entries(vault: Vault, case_id: str) -> list[tuple[str | None, str]]:
    with vault.db.session() as session:
        rows = session.scalars(
            select(AuditEntry).where(
                AuditEntry.case_id == case_id, AuditEntry.tag == str(AuditTag.DOSSIER_CASE_UNASSIGNED)
            )
        )
        return [(e.object_id, e.decision) for e in rows]


@pytest.mark.parametrize("change", ["disabled", "role"])
def test_d16_the_assignment_of_a_disabled_or_non_staff_account_can_be_ended(
    vault: Vault, change: str
) -> None:
    team, other = make_team(vault), make_team(vault)
    leader = ctx_for(vault, make_user(vault, Role.TEAMLEIDER, teams=[team]), Role.TEAMLEIDER)
    worker = make_user(vault, Role.MEDEWERKER, teams=[other])
    with vault.db.session() as session:
        case_id = open_help_seeker_advice(session, vault, leader, team_id=team).id
    assert assignments.assign_case(vault, leader, case_id, worker)
    if change == "disabled":
        _set_user(vault, worker, disabled=True)
    else:
        _set_user(vault, worker, role=Role.ADMIN)

    assert [a.user_id for a in assignments.case_assignees(vault, leader, case_id)] == [worker]
    assert assignments.unassign_case(vault, leader, case_id, worker)
    with vault.db.session() as session:
        assert session.get(CaseAssignment, (case_id, worker)) is None
    assert assignments.case_assignees(vault, leader, case_id) == []
    assert _unassigned_entries(vault, case_id) == [(worker, "allow")]

    # Re-enabling the account gives no access back; ending it twice is the usual no-op refusal.
    _set_user(vault, worker, disabled=False, role=Role.MEDEWERKER)
    with pytest.raises(Conflict):
        assignments.unassign_case(vault, leader, case_id, worker)


def test_d16_a_disabled_account_is_still_not_assigned(vault: Vault) -> None:
    team = make_team(vault)
    leader = ctx_for(vault, make_user(vault, Role.TEAMLEIDER, teams=[team]), Role.TEAMLEIDER)
    worker = make_user(vault, Role.MEDEWERKER, teams=[team])
    with vault.db.session() as session:
        case_id = open_help_seeker_advice(session, vault, leader, team_id=team).id
    _set_user(vault, worker, disabled=True)
    with pytest.raises(NotFound):
        assignments.assign_case(vault, leader, case_id, worker)
    with pytest.raises(Conflict):  # never assigned: nothing to end, whatever the account's state
        assignments.unassign_case(vault, leader, case_id, worker)
