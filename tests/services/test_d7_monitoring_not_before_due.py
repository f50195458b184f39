"""D7 ("monitoring at least after 3 and after 12 months", listed when due): a monitoring moment is
marked done only once it is due, i.e. its date lies at most ``MONITORING_LOOK_AHEAD_DAYS`` (14, the
monitoring list's look-ahead on the start page) after today, Dutch date. Marking the 12-month moment
done on the day the investigation ends would take it off every list while the family was never
monitored; it is refused (``InvalidInput``, rule ``d7-not-due-yet``), nothing changes, the moment
stays on the list. API 400; the page answers with a Dutch 400 page."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.helpers import api_user, ctx_for, make_team, make_user, team_id_of
from tests.web.world import World, _ctx, build_world, csrf_of, web_login
from vault.app import create_app
from vault.context import Context, FrozenClock
from vault.domain import Role, TriageOutcome
from vault.errors import InvalidInput
from vault.models import MonitoringCheck
from vault.runtime import Vault
from vault.services import triage, worklists
from vault.services.calendar import MONITORING_LOOK_AHEAD_DAYS, add_months, local_date
from vault.services.cases import open_report
from vault.services.subjects import PersonFields, Relation, ReporterFields


@pytest.fixture
def world(vault: Vault) -> World:
    return build_world(vault)


def _monitored(vault: Vault, ctx: Context, case_id: str) -> tuple[dict[int, str], date]:
    """Investigation decided, started and ended today: the moments at 3 and 12 months exist."""
    today = local_date(ctx.now())
    triage.record_triage_outcome(vault, ctx, case_id, TriageOutcome.INVESTIGATION)
    triage.record_investigation(vault, ctx, case_id, started_on=today)
    triage.record_investigation(vault, ctx, case_id, ended_on=today)
    with vault.db.session() as session:
        rows = session.scalars(select(MonitoringCheck).where(MonitoringCheck.case_id == case_id))
        return {m.months: m.id for m in rows}, today


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


def _done(vault: Vault, check_id: str) -> bool:
    with vault.db.session() as session:
        check = session.get(MonitoringCheck, check_id)
        assert check is not None
        return check.done_at is not None


def test_d7_the_12_month_monitoring_cannot_be_marked_done_the_day_the_investigation_ends(
    vault: Vault,
) -> None:
    team = make_team(vault)
    worker = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team]), Role.MEDEWERKER)
    case_id = _report(vault, worker, team)
    checks, today = _monitored(vault, worker, case_id)
    for months in (12, 3):
        with pytest.raises(InvalidInput) as refused:
            triage.complete_monitoring(vault, worker, case_id, checks[months])
        assert refused.value.rule == "d7-not-due-yet"
        assert not _done(vault, checks[months])
    due = [i for i in worklists.monitoring_due(vault, worker, within_days=366) if i.case_id == case_id]
    assert [i.due_on for i in due] == [add_months(today, 3), add_months(today, 12)]


def test_d7_a_moment_is_done_from_the_look_ahead_before_its_date(vault: Vault, clock: FrozenClock) -> None:
    team = make_team(vault)
    worker = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team]), Role.MEDEWERKER)
    case_id = _report(vault, worker, team)
    checks, today = _monitored(vault, worker, case_id)
    three = add_months(today, 3)
    assert MONITORING_LOOK_AHEAD_DAYS == 14
    clock.advance(days=(three - today).days - MONITORING_LOOK_AHEAD_DAYS - 1)  # one day too early
    assert local_date(clock.now()) == three - timedelta(days=15)
    with pytest.raises(InvalidInput):
        triage.complete_monitoring(vault, worker, case_id, checks[3])
    clock.advance(days=1)  # 14 days before: on the start page's list, and may be done
    assert checks[3] in {i.object_id for i in worklists.monitoring_due(vault, worker, within_days=14)}
    triage.complete_monitoring(vault, worker, case_id, checks[3])
    assert _done(vault, checks[3])
    assert not _done(vault, checks[12])


def test_d7_api_answers_400_for_a_moment_not_due_yet(
    vault: Vault, clock: FrozenClock, client: TestClient
) -> None:
    user = api_user(client, vault, clock, Role.MEDEWERKER, team="Team API")
    ctx = ctx_for(vault, user.user_id, Role.MEDEWERKER)
    case_id = _report(vault, ctx, team_id_of(vault, "Team API"))
    checks, _ = _monitored(vault, ctx, case_id)
    r = client.post(f"/api/v1/cases/{case_id}/monitoring/{checks[12]}/done", headers=user.headers)
    assert r.status_code == 400, r.text
    assert "not due yet" in r.json()["detail"]
    assert not _done(vault, checks[12])


def test_d7_the_page_names_the_refusal_in_dutch(vault: Vault, world: World, clock: FrozenClock) -> None:
    checks, _ = _monitored(vault, _ctx(vault, world.worker), world.case_id)
    with TestClient(create_app(vault)) as client:
        web_login(client, world.worker, clock)
        token = csrf_of(client.get(f"/zaken/{world.case_id}").text)
        r = client.post(
            f"/zaken/{world.case_id}/monitoring/{checks[12]}/gedaan",
            data={"csrf_token": token},
            follow_redirects=False,
        )
    assert r.status_code == 400, r.status_code
    assert "Deze monitoring is nog niet aan de beurt" in r.text
    assert "14 dagen" in r.text
    assert "Er is niets gewijzigd." in r.text
    assert world.case_id not in r.text  # the reference (VT-XXXX-XXXX), never the id
    assert not _done(vault, checks[12])
