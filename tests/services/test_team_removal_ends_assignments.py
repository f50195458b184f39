"""Removing someone from a team ends their access to that team's cases at once, as the admin page and
the CLI say: their assignments to the team's cases end in the same transaction, each one audited like
the team leader's unassign (tag, case id, the assignee's id), ids and codes only (D16). Assignments to
other teams' cases stay."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from tests.helpers import ctx_for, make_team, make_user, new_case, upload
from vault.context import Context
from vault.domain import Action, AuditTag, Role
from vault.errors import Forbidden
from vault.models import AuditEntry, CaseAssignment, User
from vault.runtime import Vault
from vault.services import accounts
from vault.services.assignments import assign_case
from vault.services.documents import read_document
from vault.services.gate import GateRequest, would_allow
from vault.transaction import transaction


def _username(vault: Vault, user_id: str) -> str:
    with vault.db.session() as session:
        user = session.get(User, user_id)
        assert user is not None
        return user.username


def _assigned_cases(vault: Vault, user_id: str) -> set[str]:
    with vault.db.session() as session:
        return set(session.scalars(select(CaseAssignment.case_id).where(CaseAssignment.user_id == user_id)))


def test_removing_a_member_ends_their_assignments_to_that_teams_cases_at_once(vault: Vault) -> None:
    noord, zuid = make_team(vault, "Team Noord"), make_team(vault, "Team Zuid")
    worker_id = make_user(vault, Role.MEDEWERKER, teams=[noord, zuid])
    worker = ctx_for(vault, worker_id, Role.MEDEWERKER)
    lead_noord = ctx_for(vault, make_user(vault, Role.TEAMLEIDER, teams=[noord]), Role.TEAMLEIDER)
    lead_zuid = ctx_for(vault, make_user(vault, Role.TEAMLEIDER, teams=[zuid]), Role.TEAMLEIDER)
    noord_cases = [new_case(vault, lead_noord, noord) for _ in range(2)]
    noord_doc = upload(vault, lead_noord, noord_cases[0], b"Gespreksverslag.\n")
    zuid_case = new_case(vault, lead_zuid, zuid)
    for case_id in noord_cases:
        assert assign_case(vault, lead_noord, case_id, worker_id)
    assert assign_case(vault, lead_zuid, zuid_case, worker_id)
    outsider = make_user(vault, Role.MEDEWERKER, teams=[zuid])  # assigned to a Noord case, no member
    assert assign_case(vault, lead_noord, noord_cases[0], outsider)
    assert all(would_allow(vault, worker, GateRequest(c, Action.READ)) for c in noord_cases)
    read_document(vault, worker, noord_doc)

    operator = Context(actor_id="os:tester", role="operator", access_point="cli", clock=vault.clock)
    username = _username(vault, worker_id)
    with transaction(vault.db) as session:
        assert accounts.change_membership(
            session, operator, team="Team Noord", username=username, member=False
        )

    assert _assigned_cases(vault, worker_id) == {zuid_case}, "only the other team's assignment stays"
    for case_id in noord_cases:
        assert not would_allow(vault, worker, GateRequest(case_id, Action.READ))
    with pytest.raises(Forbidden):
        read_document(vault, worker, noord_doc)
    assert would_allow(vault, worker, GateRequest(zuid_case, Action.READ))
    assert _assigned_cases(vault, outsider) == {noord_cases[0]}, "someone else's assignment stays"

    with vault.db.session() as session:
        ended = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.tag == str(AuditTag.DOSSIER_CASE_UNASSIGNED))
            .order_by(AuditEntry.seq)
        ).all()
    assert sorted(e.case_id or "" for e in ended) == sorted(noord_cases)
    for entry in ended:
        assert (entry.actor_id, entry.object_type, entry.object_id) == ("os:tester", "user", worker_id)
        assert entry.rule == "team-membership-removed"
        assert json.loads(entry.details) == {"team_id": noord, "reason": "team_membership_removed"}
