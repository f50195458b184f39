"""HTTP for journal notes (issue 17): POST and GET /api/v1/cases/{id}/notes use the journal service —
the same gate decisions, audit entries and refusals as the web pages."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.helpers import ApiUser, api_user, ctx_for, team_id_of
from vault.context import FrozenClock
from vault.domain import AuditTag, OrgType, Role
from vault.models import AuditEntry
from vault.runtime import Vault
from vault.services.cases import open_report
from vault.services.journal import MAX_NOTE_LENGTH
from vault.services.subjects import ReporterFields

TEAM = "Team Noord"
NOTE = "Kanarie: moeder belde terug.\nAfspraak donderdag."


@pytest.fixture
def worker(client: TestClient, vault: Vault, clock: FrozenClock) -> ApiUser:
    return api_user(client, vault, clock, Role.MEDEWERKER, team=TEAM)


@pytest.fixture
def case_id(vault: Vault, worker: ApiUser) -> str:
    ctx = ctx_for(vault, worker.user_id, Role.MEDEWERKER)
    team_id = team_id_of(vault, TEAM)
    with vault.db.session() as session:
        return open_report(
            session,
            vault,
            ctx,
            team_id=team_id,
            reporter=ReporterFields(name="Melder", professional=True),
        ).id


def _tags(vault: Vault, case_id: str) -> list[tuple[str, str]]:
    with vault.db.session() as session:
        return [
            (t, d)
            for t, d in session.execute(
                select(AuditEntry.tag, AuditEntry.decision)
                .where(AuditEntry.case_id == case_id)
                .order_by(AuditEntry.seq)
            )
        ]


def test_add_and_read_notes_newest_first_with_author(
    client: TestClient, vault: Vault, clock: FrozenClock, worker: ApiUser, case_id: str
) -> None:
    url = f"/api/v1/cases/{case_id}/notes"
    first = client.post(url, headers=worker.headers, json={"text": NOTE})
    assert first.status_code == 201, first.text
    clock.advance(seconds=60)
    second = client.post(
        url, headers=worker.headers, json={"text": "Correctie: vrijdag.", "corrects_id": first.json()["id"]}
    )
    assert second.status_code == 201, second.text
    listed = client.get(url, headers=worker.headers)
    assert listed.status_code == 200
    notes = listed.json()
    assert [n["id"] for n in notes] == [second.json()["id"], first.json()["id"]]
    assert notes[1]["text"] == NOTE
    assert notes[0]["corrects_id"] == first.json()["id"]
    assert notes[0]["author"].startswith("medewerker-")
    assert notes[0]["author_id"] == worker.user_id
    tags = _tags(vault, case_id)
    assert tags.count((str(AuditTag.DOSSIER_NOTE_ADDED), "allow")) == 2
    assert (str(AuditTag.DOSSIER_NOTES_READ), "allow") in tags


def test_bad_notes_are_refused_with_a_reason(client: TestClient, worker: ApiUser, case_id: str) -> None:
    url = f"/api/v1/cases/{case_id}/notes"
    empty = client.post(url, headers=worker.headers, json={"text": "   "})
    assert empty.status_code == 400
    assert empty.json()["error"] == "invalid_input"
    long = client.post(url, headers=worker.headers, json={"text": "x" * (MAX_NOTE_LENGTH + 1)})
    assert long.status_code == 400
    assert "x" * 50 not in long.text
    extra = client.post(url, headers=worker.headers, json={"text": "ok", "author": "iemand"})
    assert extra.status_code == 422
    unknown = client.post(url, headers=worker.headers, json={"text": "ok", "corrects_id": case_id})
    assert unknown.status_code == 404


def test_partners_and_other_teams_get_no_notes(
    client: TestClient, vault: Vault, clock: FrozenClock, worker: ApiUser, case_id: str
) -> None:
    client.post(f"/api/v1/cases/{case_id}/notes", headers=worker.headers, json={"text": NOTE})
    outsider = api_user(client, vault, clock, Role.MEDEWERKER, team="Team Zuid")
    partner = api_user(client, vault, clock, Role.PARTNER, org=("Lokaal Team Noord", OrgType.LOCAL_TEAM))
    assert client.get(f"/api/v1/cases/{case_id}/notes", headers=outsider.headers).status_code == 403
    refused = client.get(f"/api/v1/cases/{case_id}/notes", headers=partner.headers)
    assert refused.status_code == 404
    assert "Kanarie" not in refused.text
    posted = client.post(f"/api/v1/cases/{case_id}/notes", headers=partner.headers, json={"text": "x"})
    assert posted.status_code == 404
    denied = [t for t in _tags(vault, case_id) if t == (str(AuditTag.DOSSIER_ACCESS_DENIED), "deny")]
    assert len(denied) == 3
