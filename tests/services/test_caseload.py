"""Issue 17 (H1): finding a case by reference, case lists and the team caseload, and the case
timeline — at the service level, with real SQL, real crypto and real Casbin (FrozenClock only).

The rule under test throughout: a case outside the actor's scope (their teams, their assignments)
is never offered, its family name never read; every list and name shown is audited."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from tests.helpers import ctx_for, make_team, make_user
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, Role, reference_of
from vault.errors import Forbidden, InvalidInput
from vault.models import AuditEntry
from vault.repositories.cases import CaseListRow
from vault.runtime import Vault
from vault.services import caseload, timeline
from vault.services.assignments import assign_case
from vault.services.case_view import TimelineEntry, view_case
from vault.services.cases import open_professional_advice, open_report
from vault.services.person_fields import PersonFields
from vault.services.subjects import Relation, ReporterFields


@contextmanager
def ids_starting_with(monkeypatch: pytest.MonkeyPatch, prefix: str) -> Iterator[None]:
    """New ids (the case's among them) start with ``prefix``: two cases with one reference prefix."""
    real = uuid.uuid4
    with monkeypatch.context() as patch:
        patch.setattr(uuid, "uuid4", lambda: uuid.UUID(prefix + real().hex[len(prefix) :]))
        yield


def report(vault: Vault, ctx: Context, team: str, child: str = "Anna van der Berg") -> str:
    with vault.db.session() as session:
        return open_report(
            session,
            vault,
            ctx,
            team_id=team,
            reporter=ReporterFields(name="Melder", professional=False),
            subjects=[
                (Relation.PARENT, PersonFields(name="Piet Ouder")),
                (Relation.CHILD, PersonFields(name=child)),
            ],
        ).id


def entries(vault: Vault, tag: AuditTag) -> list[AuditEntry]:
    with vault.db.session() as session:
        rows = list(
            session.scalars(select(AuditEntry).where(AuditEntry.tag == str(tag)).order_by(AuditEntry.seq))
        )
        session.expunge_all()
    return rows


@pytest.fixture
def teams(vault: Vault) -> tuple[str, str]:
    return make_team(vault, "Team Noord"), make_team(vault, "Team Zuid")


def test_reference_offers_only_cases_in_the_actors_scope(
    vault: Vault, teams: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    north, south = teams
    worker = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[north]), Role.MEDEWERKER)
    other = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[south]), Role.MEDEWERKER)
    with ids_starting_with(monkeypatch, "abcd1"):
        ours = sorted([report(vault, worker, north), report(vault, worker, north)])
        theirs = report(vault, other, south)
    found = caseload.find_by_reference(vault, worker, "vt-abcd")
    assert [m.case_id for m in found] == ours
    assert [m.reference for m in found] == [reference_of(c) for c in ours]
    assert [m.case_id for m in caseload.find_by_reference(vault, other, "ABCD1")] == [theirs]
    # The exact reference of a case outside the scope: never offered.
    assert caseload.find_by_reference(vault, worker, reference_of(theirs)) == []
    assert [m.case_id for m in caseload.find_by_reference(vault, worker, reference_of(ours[0]).lower())] == [
        ours[0]
    ]
    # Assigned to a case of another team: now it is in scope.
    leader = ctx_for(vault, make_user(vault, Role.TEAMLEIDER, teams=[south]), Role.TEAMLEIDER)
    assert assign_case(vault, leader, theirs, worker.actor_id or "")
    assert [m.case_id for m in caseload.find_by_reference(vault, worker, "VT-ABCD1")] == sorted(
        [*ours, theirs]
    )
    for bad in ("VT-AB", "abc", "VT-ZZZZ-1234", "nieuw", "x" * 40):
        with pytest.raises(InvalidInput):
            caseload.find_by_reference(vault, worker, bad)
    officer = ctx_for(vault, make_user(vault, Role.PRIVACY_OFFICER), Role.PRIVACY_OFFICER)
    with pytest.raises(Forbidden):
        caseload.find_by_reference(vault, officer, "VT-ABCD")
    searched = entries(vault, AuditTag.DOSSIER_REFERENCE_SEARCHED)
    assert [e.details for e in searched][:2] == ['{"count":2}', '{"count":1}']
    assert searched[1].case_id == theirs  # one match: the entry names the case
    assert all(e.actor_id for e in searched)


def test_my_case_list_names_only_cases_in_scope_each_name_read_audited(
    vault: Vault, teams: tuple[str, str]
) -> None:
    north, south = teams
    worker = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[north]), Role.MEDEWERKER)
    other = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[south]), Role.MEDEWERKER)
    ours = report(vault, worker, north, "Kees de Vries")
    theirs = report(vault, other, south, "Geheim Buiten Scope")
    page = caseload.my_case_list(vault, worker)
    assert [(c.case_id, c.family_name, c.status) for c in page.lines] == [
        (ours, "de Vries", caseload.CaseStatus.TRIAGE)
    ]
    line = page.lines[0]
    assert line.reference == reference_of(ours)
    assert line.next_deadline is not None
    assert line.next_deadline.what == "triage"
    assert "Geheim" not in repr(page)  # the name is never in a repr (logs)
    names = entries(vault, AuditTag.DOSSIER_FAMILY_NAME_READ)
    assert [(e.case_id, e.actor_id, e.object_type, e.decision) for e in names] == [
        (ours, worker.actor_id, "case_list", "allow")
    ]
    assert theirs not in {e.case_id for e in entries(vault, AuditTag.DOSSIER_FAMILY_NAME_READ)}


def test_team_caseload_for_the_team_leader_only(
    vault: Vault, teams: tuple[str, str], clock: FrozenClock
) -> None:
    north, south = teams
    worker_id = make_user(vault, Role.MEDEWERKER, teams=[north])
    worker = ctx_for(vault, worker_id, Role.MEDEWERKER)
    leader = ctx_for(vault, make_user(vault, Role.TEAMLEIDER, teams=[north]), Role.TEAMLEIDER)
    other = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[south]), Role.MEDEWERKER)
    carried = report(vault, worker, north)
    report(vault, worker, north)
    report(vault, other, south)
    assert assign_case(vault, leader, carried, worker_id)
    with pytest.raises(Forbidden):
        caseload.team_caseload(vault, worker)
    clock.advance(seconds=14 * 24 * 3600)  # the triage deadlines (5 working days) have passed
    load = caseload.team_caseload(vault, leader)
    assert load.cases.total == 2  # the other team's case is not in it
    mine = {m.username: m for m in load.members}
    member = next(m for m in mine.values() if m.role == "medewerker")
    assert (member.cases, member.overdue) == (1, 1)
    assert (load.unassigned, load.unassigned_overdue) == (1, 1)
    assert {line.status for line in load.cases.lines} == {caseload.CaseStatus.TRIAGE}
    assert all(line.next_deadline and line.next_deadline.overdue for line in load.cases.lines)
    viewed = entries(vault, AuditTag.DOSSIER_CASELOAD_VIEWED)
    assert [(e.actor_id, e.decision, e.rule) for e in viewed] == [
        (worker.actor_id, "deny", "teamleider-only"),
        (leader.actor_id, "allow", None),
    ]


def _row(**changes: object) -> CaseListRow:
    base: dict[str, object] = {
        "case_id": "c",
        "kind": "report",
        "team_id": None,
        "team_name": None,
        "created_at": datetime(2026, 1, 1),
        "triage_due": date(2026, 1, 8),
        "triage_outcome": None,
        "investigation_start_due": None,
        "investigation_started_on": None,
        "judgement_due": None,
        "investigation_ended_on": None,
        "monitoring_due": None,
        "monitoring_open": 0,
        "monitoring_total": 0,
    }
    return CaseListRow(**{**base, **changes})  # type: ignore[arg-type]


def test_status_and_next_deadline_follow_the_workflow() -> None:
    today = date(2026, 3, 1)
    status, deadlines = caseload.status_of, caseload.deadlines_of
    assert status(_row()) is caseload.CaseStatus.TRIAGE
    assert [d.what for d in deadlines(_row(), today)] == ["triage"]
    assert deadlines(_row(), today)[0].overdue
    onderzoek = _row(
        triage_outcome="investigation", judgement_due=date(2026, 4, 1), investigation_started_on=today
    )
    assert status(onderzoek) is caseload.CaseStatus.INVESTIGATION
    assert [(d.what, d.overdue) for d in deadlines(onderzoek, today)] == [("judgement", False)]
    monitoring = _row(
        triage_outcome="investigation",
        investigation_ended_on=today,
        monitoring_due=date(2026, 6, 1),
        monitoring_open=2,
        monitoring_total=2,
    )
    assert status(monitoring) is caseload.CaseStatus.MONITORING
    assert [d.what for d in deadlines(monitoring, today)] == ["monitoring"]
    done = _row(triage_outcome="investigation", investigation_ended_on=today, monitoring_total=2)
    assert status(done) is caseload.CaseStatus.CLOSED
    assert deadlines(done, today) == []
    assert status(_row(triage_outcome="end")) is caseload.CaseStatus.CLOSED
    assert status(_row(kind="advice_help_seeker", triage_due=None)) is caseload.CaseStatus.ADVICE


def test_family_name_keeps_dutch_tussenvoegsels() -> None:
    assert caseload.family_name("Kanarie Kind Jansen") == "Jansen"
    assert caseload.family_name("Anna van der Berg") == "van der Berg"
    assert caseload.family_name("Jan de Vries") == "de Vries"
    assert caseload.family_name("Yusuf") == "Yusuf"
    assert caseload.family_name("Van Dijk") == "Dijk"  # a first word is a first name


def test_timeline_groups_reads_filters_and_hides_names_from_others(
    vault: Vault, teams: tuple[str, str], clock: FrozenClock
) -> None:
    north, _ = teams
    worker = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[north]), Role.MEDEWERKER)
    doctor = ctx_for(vault, make_user(vault, Role.VERTROUWENSARTS, teams=[north]), Role.VERTROUWENSARTS)
    case_id = report(vault, worker, north)
    for _ in range(3):
        view_case(vault, worker, case_id)
    view_case(vault, doctor, case_id)
    clock.advance(seconds=60)
    found = timeline.case_timeline(vault, worker, case_id, kind="inzage")
    assert found.names_visible
    assert all(line.kind is timeline.TimelineKind.READ for line in found.lines)
    first = found.lines[0]
    assert (first.tag, first.count) == (str(AuditTag.DOSSIER_TIMELINE_READ), 1)
    case_reads = [line for line in found.lines if line.tag == AuditTag.DOSSIER_CASE_READ]
    assert [(line.count, line.own) for line in case_reads] == [
        (1, False),
        (3, True),
    ]  # the doctor's, then mine ×3
    assert {name for _, name in found.persons} >= {line.who for line in case_reads}
    # By person: only the doctor's entries.
    theirs = timeline.case_timeline(vault, worker, case_id, person=doctor.actor_id)
    assert {line.own for line in theirs.lines} == {False}
    assert theirs.person == doctor.actor_id
    changes = timeline.case_timeline(vault, worker, case_id, kind="wijziging")
    assert str(AuditTag.DOSSIER_CASE_CREATED) in {line.tag for line in changes.lines}
    with pytest.raises(InvalidInput):
        timeline.case_timeline(vault, worker, case_id, kind="toezicht")  # oversight: FG only
    # Paging: more lines than a page.
    for _ in range(timeline.PER_PAGE):
        view_case(vault, worker, case_id)
        timeline.case_timeline(vault, doctor, case_id, kind="wijziging")
    paged = timeline.case_timeline(vault, worker, case_id, page=2)
    assert paged.page == 2
    assert paged.pages >= 2
    assert len(paged.lines) <= timeline.PER_PAGE
    assert timeline.case_timeline(vault, worker, case_id, page=999).page == paged.pages
    # Outside the team: refused by the gate, and the refusal audited.
    outsider = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[teams[1]]), Role.MEDEWERKER)
    with pytest.raises(Forbidden):
        timeline.case_timeline(vault, outsider, case_id)
    denied = entries(vault, AuditTag.DOSSIER_ACCESS_DENIED)
    assert denied[-1].actor_id == outsider.actor_id
    assert denied[-1].case_id == case_id
    assert '"attempted":"dossier:timeline:read"' in denied[-1].details


def test_d3_professional_finds_only_own_advice_and_sees_no_staff_names(
    vault: Vault, teams: tuple[str, str]
) -> None:
    north, _ = teams
    worker = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[north]), Role.MEDEWERKER)
    pro_id = make_user(vault, Role.PROFESSIONAL)
    pro = ctx_for(vault, pro_id, Role.PROFESSIONAL)
    other_pro = ctx_for(vault, make_user(vault, Role.PROFESSIONAL), Role.PROFESSIONAL)
    with vault.db.session() as session:
        advice = open_professional_advice(
            session, vault, worker, professional_id=pro_id, meldcode_step=2, team_id=north
        ).id
    report(vault, worker, north)
    page = caseload.my_case_list(vault, pro)
    assert [(c.case_id, c.status, c.assignees) for c in page.lines] == [
        (advice, caseload.CaseStatus.ADVICE, ())
    ]
    assert [m.case_id for m in caseload.find_by_reference(vault, pro, reference_of(advice))] == [advice]
    assert caseload.find_by_reference(vault, other_pro, reference_of(advice)) == []
    view_case(vault, worker, advice)
    found = timeline.case_timeline(vault, pro, advice)
    assert not found.names_visible
    assert found.persons == []
    assert all(line.who is None for line in found.lines)
    assert {line.own for line in found.lines} == {True, False}  # "u" for their own, a role for staff
    staff_line = next(line for line in found.lines if not line.own)
    assert staff_line.actor_role == "medewerker"
    assert (
        timeline.case_timeline(vault, pro, advice, person=worker.actor_id).person is None
    )  # no filter by person


def test_break_glass_timeline_groups_the_case_views_own_entries() -> None:
    at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    read, created = str(AuditTag.DOSSIER_CASE_READ), str(AuditTag.DOSSIER_CASE_CREATED)
    entries = [TimelineEntry(at, created), TimelineEntry(at, read), TimelineEntry(at, read)]
    lines = timeline.group_view_entries(entries)
    assert [(line.tag, line.count, line.who) for line in lines] == [(read, 2, None), (created, 1, None)]
