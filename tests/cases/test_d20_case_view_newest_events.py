"""D20 / D15: the case view's timeline (the break-the-glass page, ``GET /api/v1/cases/{id}``) holds the
NEWEST events of the case, oldest first, and says when older ones were left out — an emergency reader
must see what happened today, not the first months of the case."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient

from tests.helpers import api_user, ctx_for, make_team, make_user, team_id_of
from vault.audit.log import record
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, Role
from vault.runtime import Vault
from vault.services import case_view
from vault.services.case_view import view_case
from vault.services.cases import open_report
from vault.services.journal import add_note
from vault.services.subjects import PersonFields, Relation, ReporterFields
from vault.transaction import transaction

JUSTIFICATION = "Acute zorg om de veiligheid van het kind vannacht, collega ziek."


def _case(vault: Vault, worker: Context, team: str) -> str:
    with vault.db.session() as session:
        return open_report(
            session,
            vault,
            worker,
            team_id=team,
            reporter=ReporterFields(name="Fenna Pietersen", professional=False),
            subjects=[(Relation.CHILD, PersonFields(name="Sam Terpstra", date_of_birth=date(2016, 4, 5)))],
        ).id


def _busy(vault: Vault, worker: Context, case_id: str) -> None:
    """As many reads as the timeline holds (what weeks of case-page views write)."""
    with transaction(vault.db) as session:
        for _ in range(case_view._TIMELINE_LIMIT):
            record(session, worker, AuditTag.DOSSIER_CASE_READ, case_id=case_id, object_type="case")


def test_d20_break_the_glass_timeline_shows_the_newest_events_and_says_older_ones_are_left_out(
    vault: Vault, clock: FrozenClock
) -> None:
    team = make_team(vault)
    worker = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team]), Role.MEDEWERKER)
    outsider = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[make_team(vault)]), Role.MEDEWERKER)
    case_id = _case(vault, worker, team)
    assert view_case(vault, worker, case_id).timeline_truncated is False
    _busy(vault, worker, case_id)
    clock.advance(seconds=60)
    add_note(vault, worker, case_id, text="Vandaag huisbezoek: vader aanwezig.")
    view = view_case(vault, outsider, case_id, break_glass_justification=JUSTIFICATION)
    tags = [e.tag for e in view.timeline]
    assert len(tags) == case_view._TIMELINE_LIMIT
    assert str(AuditTag.DOSSIER_NOTE_ADDED) in tags  # today's note
    assert tags[-1] == str(AuditTag.DOSSIER_CASE_READ)  # oldest first: this view's own read last
    assert [e.at for e in view.timeline] == sorted(e.at for e in view.timeline)
    assert str(AuditTag.DOSSIER_CASE_CREATED) not in tags  # the first event of the case is left out
    assert view.timeline_truncated is True


def test_d20_the_api_case_view_says_older_events_are_left_out(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    worker = api_user(client, vault, clock, Role.MEDEWERKER, team="Team Noord")
    ctx = ctx_for(vault, worker.user_id, Role.MEDEWERKER)
    case_id = _case(vault, ctx, team_id_of(vault, "Team Noord"))
    before = client.get(f"/api/v1/cases/{case_id}", headers=worker.headers)
    assert before.status_code == 200, before.text
    assert before.json()["timeline_truncated"] is False
    _busy(vault, ctx, case_id)
    after = client.get(f"/api/v1/cases/{case_id}", headers=worker.headers).json()
    assert after["timeline_truncated"] is True
    assert len(after["timeline"]) == case_view._TIMELINE_LIMIT
