"""D15/D16 (staff see the cases of their own team, or cases assigned to them): disabling an account, or
giving it a role outside staff, ends every case assignment of that account in the same transaction, so
no assignment row keeps pointing at an account that can no longer act (and would give the cases back if
the account were ever enabled or changed back). Each end is audited like the automatic ends on leaving a
team (tag, case id, the assignee's id, the reason as a code); the administrator's own entry counts them;
the admin page says how many ended. Other accounts' assignments stay."""

from __future__ import annotations

import json

from sqlalchemy import select

from tests.helpers import ctx_for, make_team, make_user, new_case
from vault.context import Context
from vault.domain import Action, AuditTag, Role
from vault.models import AuditEntry, CaseAssignment, User
from vault.runtime import Vault
from vault.services import accounts
from vault.services.assignments import assign_case
from vault.services.gate import GateRequest, would_allow
from vault.transaction import transaction


def _operator(vault: Vault) -> Context:
    return Context(actor_id="os:tester", role="operator", access_point="cli", clock=vault.clock)


def _username(vault: Vault, user_id: str) -> str:
    with vault.db.session() as session:
        user = session.get(User, user_id)
        assert user is not None
        return user.username


def _assigned_cases(vault: Vault, user_id: str) -> set[str]:
    with vault.db.session() as session:
        return set(session.scalars(select(CaseAssignment.case_id).where(CaseAssignment.user_id == user_id)))


def _entries(vault: Vault, tag: AuditTag) -> list[AuditEntry]:
    with vault.db.session() as session:
        return list(
            session.scalars(select(AuditEntry).where(AuditEntry.tag == str(tag)).order_by(AuditEntry.seq))
        )


def _world_of_assignments(vault: Vault) -> tuple[str, str, list[str], str]:
    """A worker of Noord assigned to two Noord cases and to one Zuid case (no member there); a colleague
    assigned to the first Noord case. Returns (worker, colleague, cases of the worker, Zuid case)."""
    noord, zuid = make_team(vault, "Team Noord"), make_team(vault, "Team Zuid")
    worker = make_user(vault, Role.MEDEWERKER, teams=[noord])
    colleague = make_user(vault, Role.MEDEWERKER, teams=[noord])
    lead_noord = ctx_for(vault, make_user(vault, Role.TEAMLEIDER, teams=[noord]), Role.TEAMLEIDER)
    lead_zuid = ctx_for(vault, make_user(vault, Role.TEAMLEIDER, teams=[zuid]), Role.TEAMLEIDER)
    noord_cases = [new_case(vault, lead_noord, noord) for _ in range(2)]
    zuid_case = new_case(vault, lead_zuid, zuid)
    for case_id in noord_cases:
        assert assign_case(vault, lead_noord, case_id, worker)
    assert assign_case(vault, lead_zuid, zuid_case, worker)
    assert assign_case(vault, lead_noord, noord_cases[0], colleague)
    return worker, colleague, [*noord_cases, zuid_case], zuid_case


def test_d16_disabling_an_account_ends_all_its_assignments_each_audited(vault: Vault) -> None:
    worker, colleague, cases, zuid_case = _world_of_assignments(vault)
    worker_ctx = ctx_for(vault, worker, Role.MEDEWERKER)
    assert would_allow(vault, worker_ctx, GateRequest(zuid_case, Action.READ))

    username = _username(vault, worker)
    with transaction(vault.db) as session:
        accounts.disable_user(session, _operator(vault), username)

    assert _assigned_cases(vault, worker) == set()
    assert _assigned_cases(vault, colleague) == {cases[0]}, "someone else's assignment stays"
    ended = _entries(vault, AuditTag.DOSSIER_CASE_UNASSIGNED)
    assert sorted(e.case_id or "" for e in ended) == sorted(cases)
    for entry in ended:
        assert (entry.actor_id, entry.object_type, entry.object_id) == ("os:tester", "user", worker)
        assert entry.rule == "account-disabled"
        assert json.loads(entry.details) == {"reason": "account_disabled"}
    [disabled] = _entries(vault, AuditTag.ADMIN_USER_DISABLED)
    assert json.loads(disabled.details)["assignments_ended"] == 3

    # A (hypothetical) re-enable: the account comes back without any assignment, so no case with it.
    with vault.db.session() as session:
        user = session.get(User, worker)
        assert user is not None
        user.disabled = False
    assert _assigned_cases(vault, worker) == set()
    assert not would_allow(
        vault, ctx_for(vault, worker, Role.MEDEWERKER), GateRequest(zuid_case, Action.READ)
    )


def test_d16_a_role_out_of_staff_ends_all_assignments_a_staff_role_keeps_them(vault: Vault) -> None:
    worker, colleague, cases, zuid_case = _world_of_assignments(vault)
    operator, username = _operator(vault), _username(vault, worker)
    with transaction(vault.db) as session:  # staff to staff: the assignments stay
        assert accounts.change_role(session, operator, username=username, role="vertrouwensarts")
    assert _assigned_cases(vault, worker) == set(cases)
    with transaction(vault.db) as session:  # today's rule: leave the teams first (ends Noord's ones)
        assert accounts.change_membership(
            session, operator, team="Team Noord", username=username, member=False
        )
    assert _assigned_cases(vault, worker) == {zuid_case}

    with transaction(vault.db) as session:
        assert accounts.change_role(session, operator, username=username, role="admin")

    assert _assigned_cases(vault, worker) == set()
    assert _assigned_cases(vault, colleague) == {cases[0]}
    role_ended = [e for e in _entries(vault, AuditTag.DOSSIER_CASE_UNASSIGNED) if e.rule == "role-not-staff"]
    assert [(e.case_id, e.actor_id, e.object_type, e.object_id) for e in role_ended] == [
        (zuid_case, "os:tester", "user", worker)
    ]
    assert json.loads(role_ended[0].details) == {"reason": "role_not_staff", "to": "admin"}
    changes = [json.loads(e.details) for e in _entries(vault, AuditTag.ADMIN_ROLE_CHANGED)]
    assert [c["assignments_ended"] for c in changes] == [0, 1]
