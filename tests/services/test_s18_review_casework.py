"""Session 18 review (case work), service level: real SQLite, real crypto, real Casbin, the frozen clock.

D16/D21: a refused attempt to assign an account that may not be assigned (outside the staff, disabled,
unknown) is in the log as a refusal, like every refused attempt at access.

D7: a monitoring moment postponed twice kept only its last reason (fixed with migration 0035)."""

from __future__ import annotations

import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.helpers import api_user, ctx_for, make_org, make_team, make_user, team_id_of
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, OrgType, Role, TriageOutcome
from vault.errors import InvalidInput, NotFound, VaultError
from vault.models import AuditEntry, CaseAssignment, CaseNote, MonitoringCheck, User
from vault.runtime import Vault
from vault.services import journal, triage
from vault.services.assignments import assign_case
from vault.services.calendar import local_date
from vault.services.case_view import view_case
from vault.services.cases import open_report
from vault.services.journal import add_note
from vault.services.subjects import PersonFields, Relation, ReporterFields


def _report(vault: Vault, ctx: Context, team: str) -> str:
    with vault.db.session() as session:
        return open_report(
            session,
            vault,
            ctx,
            team_id=team,
            reporter=ReporterFields(name="Melder", professional=False),
            subjects=[(Relation.CHILD, PersonFields(name="Kind Monitor"))],
        ).id


def monitored_case(vault: Vault) -> tuple[Context, str, str, date]:
    """A worker, their report investigated today, and its three-month monitoring moment (id, due date)."""
    team = make_team(vault)
    worker = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team]), Role.MEDEWERKER)
    case_id = _report(vault, worker, team)
    today = local_date(worker.now())
    triage.record_triage_outcome(vault, worker, case_id, TriageOutcome.INVESTIGATION)
    triage.record_investigation(vault, worker, case_id, started_on=today, ended_on=today)
    with vault.db.session() as session:
        check = session.scalars(
            select(MonitoringCheck).where(MonitoringCheck.case_id == case_id, MonitoringCheck.months == 3)
        ).one()
        return worker, case_id, check.id, check.due_on


def test_d7_the_reason_of_an_earlier_postponement_is_not_lost(vault: Vault) -> None:
    """A moment postponed twice kept only the last reason on its row, and the log holds none (on
    purpose: the reason is about the family); so why monitoring was delayed the first time was gone.
    Since migration 0035 each postponement is kept (``monitoring_postponements``) and shown."""
    worker, case_id, check_id, due = monitored_case(vault)
    first = triage.PostponeReason.FAMILY_UNREACHABLE
    second = triage.PostponeReason.PARTNER_INFORMATION_PENDING
    triage.postpone_monitoring(vault, worker, case_id, check_id, until=due + timedelta(days=30), reason=first)
    triage.postpone_monitoring(
        vault, worker, case_id, check_id, until=due + timedelta(days=60), reason=second
    )
    view = view_case(vault, worker, case_id)
    with vault.db.session() as session:
        details = session.scalars(
            select(AuditEntry.details).where(AuditEntry.tag == str(AuditTag.DOSSIER_MONITORING_POSTPONED))
        ).all()
    known = {m.postpone_reason for m in view.monitoring if m.monitoring_id == check_id}
    known |= {json.loads(d).get("reason") for d in details}
    known |= {why for m in view.monitoring if m.monitoring_id == check_id for _, _, why in m.postponements}
    assert str(first) in known, "D7: the first postponement's reason is gone from the case and the log"
    (moment,) = [m for m in view.monitoring if m.monitoring_id == check_id]
    assert moment.postponements == (
        (due, due + timedelta(days=30), str(first)),
        (due + timedelta(days=30), due + timedelta(days=60), str(second)),
    )
    assert moment.postponed_from == due


# --- D16, D21: an attempt to give a partner, privacy officer or disabled account access by assignment


def _assignment_denials(vault: Vault, case_id: str) -> list[tuple[str | None, str]]:
    with vault.db.session() as session:
        rows = session.execute(
            select(AuditEntry.rule, AuditEntry.details)
            .where(AuditEntry.case_id == case_id, AuditEntry.tag == str(AuditTag.DOSSIER_ACCESS_DENIED))
            .order_by(AuditEntry.seq)
        ).all()
    return [(rule, json.loads(details).get("attempted")) for rule, details in rows]


@pytest.mark.parametrize("role", [Role.PARTNER, Role.PRIVACY_OFFICER, Role.ADMIN, Role.PROFESSIONAL])
def test_d16_d21_assigning_an_account_outside_the_staff_is_refused_and_audited(
    vault: Vault, role: Role
) -> None:
    """A team leader who tries to give a partner (or the privacy officer, an administrator, an outside
    professional) access to a case by assigning them is refused — and the attempt is in the log, as
    every refused attempt at access is; it used to roll back without a trace."""
    team = make_team(vault)
    lead = ctx_for(vault, make_user(vault, Role.TEAMLEIDER, teams=[team]), Role.TEAMLEIDER)
    case_id = _report(vault, lead, team)
    outsider = make_user(
        vault, role, org_id=make_org(vault, OrgType.LOCAL_TEAM) if role is Role.PARTNER else None
    )
    with pytest.raises(InvalidInput):
        assign_case(vault, lead, case_id, outsider)
    with vault.db.session() as session:
        assert session.get(CaseAssignment, (case_id, outsider)) is None
    assert _assignment_denials(vault, case_id) == [
        ("assignment-not-staff", str(AuditTag.DOSSIER_CASE_ASSIGNED))
    ], "D16/D21: the refused attempt to assign a non-staff account left no trace"


def test_d16_d21_assigning_a_disabled_or_unknown_account_is_refused_and_audited(vault: Vault) -> None:
    team = make_team(vault)
    lead = ctx_for(vault, make_user(vault, Role.TEAMLEIDER, teams=[team]), Role.TEAMLEIDER)
    case_id = _report(vault, lead, team)
    gone = make_user(vault, Role.MEDEWERKER, teams=[team])
    with vault.db.session() as session:
        user = session.get(User, gone)
        assert user is not None
        user.disabled = True
    for user_id in (gone, "00000000-0000-4000-8000-000000000000"):
        with pytest.raises(NotFound):
            assign_case(vault, lead, case_id, user_id)
    assert (
        _assignment_denials(vault, case_id)
        == [("assignment-no-enabled-account", str(AuditTag.DOSSIER_CASE_ASSIGNED))] * 2
    )


# --- D14: one note sent at once from two windows (a double submit racing itself)


def test_s18_d14_the_same_note_sent_at_once_is_stored_once(vault: Vault) -> None:
    """Real threads, released together: the same form (note id and text) sent four times at once is
    one note; the others are refused with ``journal-note-already-added`` (never a 500 from a
    duplicate key). On PostgreSQL the gate's chain lock makes them take turns; SQLite's transactions do."""
    team = make_team(vault)
    worker = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team]), Role.MEDEWERKER)
    case_id = _report(vault, worker, team)
    note_id = str(uuid.uuid4())
    barrier = threading.Barrier(4, timeout=60)

    def send() -> str:
        barrier.wait()
        try:
            return add_note(vault, worker, case_id, text="Kanarie: huisbezoek.", note_id=note_id)
        except VaultError as refused:
            return refused.rule or type(refused).__name__

    with ThreadPoolExecutor(4) as pool:
        answers = [f.result(timeout=60) for f in [pool.submit(send) for _ in range(4)]]
    assert sorted(answers) == sorted([note_id] + [journal.ALREADY_ADDED] * 3)
    with vault.db.session() as session:
        assert session.scalars(select(CaseNote.id).where(CaseNote.case_id == case_id)).all() == [note_id]


def test_s18_d14_a_retried_api_post_of_a_note_is_one_note(
    vault: Vault, clock: FrozenClock, client: TestClient
) -> None:
    """An API client that retries after a lost answer sends the note's own id: the retry is 409 with
    the reason, never a second note."""
    user = api_user(client, vault, clock, Role.MEDEWERKER, team="Team API")
    ctx = ctx_for(vault, user.user_id, Role.MEDEWERKER)
    case_id = _report(vault, ctx, team_id_of(vault, "Team API"))
    note_id = str(uuid.uuid4())
    body = {"text": "Kanarie: telefonisch contact.", "id": note_id}
    first = client.post(f"/api/v1/cases/{case_id}/notes", json=body, headers=user.headers)
    again = client.post(f"/api/v1/cases/{case_id}/notes", json=body, headers=user.headers)
    assert first.status_code == 201
    assert first.json() == {"id": note_id}
    assert again.status_code == 409, again.text
    assert again.json()["detail"] == "this note was already added"
    listed = client.get(f"/api/v1/cases/{case_id}/notes", headers=user.headers).json()
    assert [n["id"] for n in listed] == [note_id]
