"""D13 (robustness, availability): the inzage PDF through the API. A released note with a long
separator line of dashes gives a PDF, never a 500; and the CPU-bound rendering runs in a worker thread,
never on the event loop (a busy case's copy would freeze every other request of the process)."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest
from fastapi.testclient import TestClient

from tests.helpers import ApiUser, api_user, ctx_for, team_id_of
from vault.context import FrozenClock
from vault.domain import Role
from vault.runtime import Vault
from vault.services import inzage
from vault.services.cases import open_report
from vault.services.journal import add_note
from vault.services.subjects import PersonFields, Relation, ReporterFields, add_subject

TEAM = "Team Review Inzage"


def _case(client: TestClient, vault: Vault, clock: FrozenClock, note: str) -> tuple[ApiUser, str, str, str]:
    worker = api_user(client, vault, clock, Role.MEDEWERKER, team=TEAM)
    ctx = ctx_for(vault, worker.user_id, Role.MEDEWERKER)
    team_id = team_id_of(vault, TEAM)
    with vault.db.session() as session:
        case_id = open_report(
            session, vault, ctx, team_id=team_id, reporter=ReporterFields(name="Buur", professional=False)
        ).id
    mother = add_subject(
        vault,
        ctx,
        case_id,
        relation=Relation.PARENT,
        fields=PersonFields(name="Moeder", date_of_birth=date(1990, 1, 1)),
    )
    note_id = add_note(vault, ctx, case_id, text=note)
    r = client.post(
        f"/api/v1/cases/{case_id}/access-requests",
        headers=worker.headers,
        json={"subject_id": mother, "received_on": clock.now().date().isoformat()},
    )
    assert r.status_code == 201, r.text
    request_id = r.json()["id"]
    r = client.post(
        f"/api/v1/access-requests/{request_id}/free-text",
        headers=worker.headers,
        json={"decisions": [{"item": f"note:{note_id}", "decision": "released"}]},
    )
    assert r.status_code == 200, r.text
    return worker, case_id, mother, request_id


def test_d13_the_inzage_pdf_of_a_note_with_a_separator_line_is_no_500(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    worker, case_id, mother, request_id = _case(
        client, vault, clock, "Gespreksverslag\n" + "-" * 1200 + "\nMoeder wil hulp."
    )
    try:
        r = client.get(
            f"/api/v1/cases/{case_id}/subjects/{mother}/inzage",
            params={"access_request": request_id, "format": "pdf"},
            headers=worker.headers,
        )
    except RecursionError:  # the test client re-raises what the server answered with a 500
        pytest.fail("GET …/inzage?format=pdf answers 500 (RecursionError in the PDF renderer)")
    assert r.status_code == 200, r.text


def test_d13_the_inzage_pdf_is_not_rendered_on_the_event_loop(
    client: TestClient, vault: Vault, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    worker, case_id, mother, request_id = _case(client, vault, clock, "Huisbezoek afgelegd.")
    on_loop: list[bool] = []
    real = inzage.render_inzage_pdf

    def spy(export: inzage.InzageExport) -> bytes:
        try:
            asyncio.get_running_loop()
            on_loop.append(True)
        except RuntimeError:
            on_loop.append(False)
        return real(export)

    monkeypatch.setattr(inzage, "render_inzage_pdf", spy)
    r = client.get(
        f"/api/v1/cases/{case_id}/subjects/{mother}/inzage",
        params={"access_request": request_id, "format": "pdf"},
        headers=worker.headers,
    )
    assert r.status_code == 200, r.text
    assert on_loop == [False], "the PDF (CPU-bound, seconds for a busy case) is rendered on the event loop"
