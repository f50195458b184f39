"""Session 18 review of the rights pages (D12, D13, D16, D21): findings reproduced with a test that
failed on the code before the fix."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.helpers import ctx_for
from tests.web.world import World, csrf_of, web_login
from vault.app import create_app
from vault.context import FrozenClock
from vault.domain import AuditTag, Decision, Role, reference_of
from vault.models import AccessRequest, AuditEntry, Subject
from vault.runtime import Vault
from vault.services import rights
from vault.services.journal import add_note


@pytest.fixture
def officer(vault: Vault, clock: FrozenClock, world: World) -> Iterator[TestClient]:
    with TestClient(create_app(vault)) as client:
        web_login(client, world.officer, clock)
        yield client


def test_d16_d21_the_privacy_officers_work_list_is_not_logged_as_a_refused_attempt(
    vault: Vault, world: World, officer: TestClient
) -> None:
    """I2: the privacy officer answers access requests and opens "Verzoeken" every day; the page asked
    for the destruction requests too, which the officer may not list, so every visit wrote a refused
    attempt (``dossier:access:denied``) in the officer's name: noise in the log, and the officer's own
    "probing" for the daily log review."""
    r = officer.get("/verzoeken")
    assert r.status_code == 200
    with vault.db.session() as session:
        refused = session.scalars(
            select(AuditEntry.tag).where(
                AuditEntry.actor_id == world.officer.user_id, AuditEntry.decision == str(Decision.DENY)
            )
        ).all()
        listed = session.scalars(
            select(AuditEntry.tag).where(
                AuditEntry.actor_id == world.officer.user_id,
                AuditEntry.tag == str(AuditTag.RIGHTS_ACCESS_LISTED),
            )
        ).all()
    assert refused == []
    assert len(listed) == 1  # the list the officer did see is audited as before


def test_d16_d21_the_privacy_officers_work_list_links_to_nothing_the_officer_is_refused(
    vault: Vault, world: World, officer: TestClient
) -> None:
    """I2: each open request on the officer's list linked to the request's page, which reads the
    case (the subject's name) and so refused the officer and logged a refused attempt; the list names
    the case by its reference and dates only, and offers no destruction list the officer cannot have."""
    ctx = ctx_for(vault, world.worker.user_id, Role.MEDEWERKER)
    with vault.db.session() as session:
        child = session.scalars(select(Subject.id).where(Subject.case_id == world.case_id)).one()
    request = rights.record_access_request(
        vault,
        ctx,
        world.case_id,
        subject_id=child,
        received_on=ctx.now().date(),
        requested_by=rights.RequestedBy.REPRESENTATIVE,
    )
    page = officer.get("/verzoeken")
    assert page.status_code == 200
    assert reference_of(world.case_id) in page.text
    assert f"/inzageverzoeken/{request.id}" not in page.text
    assert "Vernietigingsverzoeken zonder besluit" not in page.text
    # Why: the request's page reads the case, which the officer may not (refused, as before).
    assert officer.get(f"/inzageverzoeken/{request.id}").status_code in (403, 404)


@pytest.fixture
def worker(vault: Vault, clock: FrozenClock, world: World) -> Iterator[TestClient]:
    with TestClient(create_app(vault)) as client:
        web_login(client, world.worker, clock)
        yield client


def test_s18_an_access_request_form_sent_twice_records_one_request_and_says_so_in_dutch(
    vault: Vault, world: World, worker: TestClient
) -> None:
    """I3 on the pages: the second send of the same form is a 409 that says, beside the field, that the
    request is recorded already; one row, never a 500."""
    with vault.db.session() as session:
        child = str(session.scalars(select(Subject.id).where(Subject.case_id == world.case_id)).one())
    access = f"/zaken/{world.case_id}/inzageverzoek"
    data = {"subject_id": child, "requested_by": "representative", "received_on": "02-03-2026"}
    token = csrf_of(worker.get(access).text)
    first = worker.post(access, data={**data, "csrf_token": token}, follow_redirects=False)
    second = worker.post(access, data={**data, "csrf_token": token}, follow_redirects=False)
    assert first.status_code == 303
    assert second.status_code == 409
    assert "is al vastgelegd en staat nog open" in second.text
    with vault.db.session() as session:
        assert len(session.scalars(select(AccessRequest.id)).all()) == 1


def test_s18_the_review_page_names_a_note_without_empty_brackets(
    vault: Vault, world: World, worker: TestClient
) -> None:
    """I4: a journal note has no category, and the review page named it "Aantekening van 02-03-2026 ()"
    with empty brackets; a document title keeps its category."""
    ctx = ctx_for(vault, world.worker.user_id, Role.MEDEWERKER)
    add_note(vault, ctx, world.case_id, text="Moeder belde over de school.")
    with vault.db.session() as session:
        child = str(session.scalars(select(Subject.id).where(Subject.case_id == world.case_id)).one())
    request = rights.record_access_request(
        vault,
        ctx,
        world.case_id,
        subject_id=child,
        received_on=ctx.now().date(),
        requested_by=rights.RequestedBy.REPRESENTATIVE,
    )
    r = worker.get(f"/inzageverzoeken/{request.id}/beoordeling")
    assert r.status_code == 200
    legends = re.findall(r"<legend>([^<]*)</legend>", r.text)
    assert any(text.startswith("Aantekening van") for text in legends)
    assert not any("()" in text for text in legends), legends
    assert "Titel van een document van 02-03-2026 (Melding)" in legends
