"""D5/D7 and docs/api.md ("every live case of the leader's teams"): the team leader's caseload counts
every live case of the teams, not only the newest ones. Cases are kept 20 years (D11), so a team holds
thousands of live cases; the per-member figures, the unassigned figures and the overdue counts are SQL
aggregates over all of them, and the pages reach the oldest case (limit/offset, as "my cases")."""

from __future__ import annotations

from collections import Counter

from tests.helpers import ctx_for, make_team, make_user
from vault.context import FrozenClock
from vault.domain import CaseKind, Role, TriageOutcome
from vault.repositories import cases as repo
from vault.runtime import Vault
from vault.services import assignments, caseload, triage
from vault.services.calendar import local_date
from vault.services.cases import open_case


def test_d7_team_caseload_counts_every_live_case_not_only_the_newest_2000(vault: Vault) -> None:
    team = make_team(vault)
    leader_id = make_user(vault, Role.TEAMLEIDER, teams=[team])
    leader = ctx_for(vault, leader_id, Role.TEAMLEIDER)
    worker = make_user(vault, Role.MEDEWERKER, teams=[team])
    with vault.db.session() as session:
        old = open_case(session, vault, leader, kind=CaseKind.REPORT, team_id=team).id  # the oldest
    assignments.assign_case(vault, leader, old, worker)
    vault.clock.advance(seconds=60)  # type: ignore[attr-defined]
    with vault.db.session() as session:
        for _ in range(2000):
            open_case(session, vault, leader, kind=CaseKind.ADVICE_HELP_SEEKER, team_id=team)
    vault.clock.advance(days=30)  # type: ignore[attr-defined]  # the old report's triage is overdue

    load = caseload.team_caseload(vault, ctx_for(vault, leader_id, Role.TEAMLEIDER))
    assert (load.cases.total, load.cases.pages) == (2001, 81)
    carried = [(m.cases, m.overdue) for m in load.members if m.cases]
    assert carried == [(1, 1)], "the worker's one (overdue) case is not counted in the team caseload"
    assert (load.unassigned, load.unassigned_overdue) == (2000, 0)

    last = caseload.team_caseload(vault, ctx_for(vault, leader_id, Role.TEAMLEIDER), page=81)
    assert [line.case_id for line in last.cases.lines] == [old]  # the oldest case is on the last page
    assert last.cases.lines[0].next_deadline is not None
    assert last.cases.lines[0].next_deadline.overdue


def test_d5_d7_sql_figures_match_each_cases_overdue_deadlines(vault: Vault, clock: FrozenClock) -> None:
    """The SQL overdue count of a case is the number of its overdue deadlines as the page derives them
    (``deadlines_of``): triage, investigation start, judgement, the earliest open monitoring."""
    team, other = make_team(vault), make_team(vault)
    leader_id = make_user(vault, Role.TEAMLEIDER, teams=[team])
    leader = ctx_for(vault, leader_id, Role.TEAMLEIDER)
    other_leader = ctx_for(vault, make_user(vault, Role.TEAMLEIDER, teams=[other]), Role.TEAMLEIDER)
    one = make_user(vault, Role.MEDEWERKER, teams=[team])
    two = make_user(vault, Role.VERTROUWENSARTS, teams=[team])
    worker = ctx_for(vault, one, Role.MEDEWERKER)
    with vault.db.session() as session:
        untriaged = open_case(session, vault, leader, kind=CaseKind.REPORT, team_id=team).id
        not_started = open_case(session, vault, leader, kind=CaseKind.REPORT, team_id=team).id
        monitored = open_case(session, vault, leader, kind=CaseKind.REPORT, team_id=team).id
        advice = open_case(session, vault, leader, kind=CaseKind.ADVICE_HELP_SEEKER, team_id=team).id
        open_case(session, vault, leader, kind=CaseKind.REPORT, team_id=team)  # nobody carries it
        elsewhere = open_case(session, vault, other_leader, kind=CaseKind.REPORT, team_id=other).id
    today = local_date(clock.now())
    triage.record_triage_outcome(vault, worker, not_started, TriageOutcome.INVESTIGATION)
    triage.record_triage_outcome(vault, worker, monitored, TriageOutcome.INVESTIGATION)
    triage.record_investigation(vault, worker, monitored, started_on=today)
    triage.record_investigation(vault, worker, monitored, ended_on=today)
    for case_id in (untriaged, not_started, monitored, advice):
        assignments.assign_case(vault, leader, case_id, one)
    assignments.assign_case(vault, leader, untriaged, two)
    assignments.assign_case(vault, other_leader, elsewhere, one)  # another team's case counts nowhere
    clock.advance(days=100)  # start and judgement overdue; the 3-month monitoring too

    load = caseload.team_caseload(vault, ctx_for(vault, leader_id, Role.TEAMLEIDER))
    figures = {m.username: (m.cases, m.overdue) for m in load.members if m.cases}
    # untriaged: 1 (triage); not_started: 2 (start, judgement); monitored: 1 (3 months); advice: 0
    assert sorted(figures.values()) == [(1, 1), (4, 4)]
    assert (load.unassigned, load.unassigned_overdue) == (1, 1)  # alone: its triage

    # The same figures as deriving them case by case from the list (what the page shows).
    now = local_date(clock.now())
    with vault.db.session() as session:
        _, rows = repo.case_list(session, repo.Scope(None, frozenset({team})))
        assigned = repo.assignees(session, [r.case_id for r in rows])
    late = {r.case_id: sum(d.overdue for d in caseload.deadlines_of(r, now)) for r in rows}
    derived: Counter[str] = Counter()
    counted: Counter[str] = Counter()
    for case_id, users in assigned.items():
        for _, username in users:
            counted[username] += 1
            derived[username] += late[case_id]
    assert figures == {name: (counted[name], derived[name]) for name in counted}
