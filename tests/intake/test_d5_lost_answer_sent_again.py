"""D5: a public form whose answer was lost on the way is sent again and opens no second case.

The report arrived and its case was opened, but the connection dropped before the answer reached the
page: the person never saw the reference and presses "Versturen" again. The page keeps its proof of
work after a send that got no answer (``public.js``), and the server remembers for the proof's hour
which case the proof opened (``intake_receipts``): the second send is told that case's reference (200,
``again``), stores nothing and writes no second "received" entry. A used proof whose case was
destroyed since is refused as before (``pow_replayed``), never told a destroyed case's reference; the
receipts go with the other hour-old intake rows.

Real app, real database, a real browser whose first answer is dropped; the clock is the only double."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.intake.test_intake_browser import PHONE
from tests.web.world import World
from vault.app import create_app
from vault.context import Context, FrozenClock
from vault.domain import AuditTag
from vault.models import AuditEntry, Case, IntakeReceipt
from vault.runtime import Vault
from vault.services import destruction, intake
from vault.services.pow import solve

EMPTY_FILE = {"bijlage": ("", b"", "application/octet-stream")}
ADVICE = {"website": "", "relatie": "zelf", "zorgen": "Ik maak me zorgen."}


@pytest.fixture
def client(vault: Vault, world: World) -> Iterator[TestClient]:
    with TestClient(create_app(vault)) as c:
        yield c


def _counts(vault: Vault) -> tuple[int, int]:
    """(cases, "submission received" entries)."""
    with vault.db.session() as session:
        cases = session.scalar(select(func.count()).select_from(Case))
        received = session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.tag == str(AuditTag.INTAKE_SUBMISSION_RECEIVED))
        )
    return int(cases or 0), int(received or 0)


def _proof(client: TestClient) -> dict[str, str]:
    issued = client.get("/formulier/uitdaging").json()
    return {"uitdaging": issued["challenge"], "teller": solve(issued["challenge"], issued["bits"])}


def test_d5_a_form_sent_again_with_its_used_proof_is_told_the_case_it_opened(
    client: TestClient, vault: Vault
) -> None:
    proof = _proof(client)
    first = client.post("/advies/burger", data={**ADVICE, **proof}, files=EMPTY_FILE)
    assert first.status_code == 201, first.text
    after_first = _counts(vault)

    again = client.post("/advies/burger", data={**ADVICE, **proof}, files=EMPTY_FILE)
    assert again.status_code == 200, again.text
    body = again.json()
    assert body["ok"] is True
    assert body["again"] is True
    assert body["reference"] == first.json()["reference"]
    assert "al goed ontvangen" in body["message"]
    assert "0800-2000" in body["message"]
    assert _counts(vault) == after_first  # no second case, no second "received" entry

    # Other answers with the same proof (edited after the lost answer) are not stored either.
    edited = client.post(
        "/advies/burger", data={**ADVICE, **proof, "zorgen": "Nog iets erbij."}, files=EMPTY_FILE
    )
    assert edited.json()["reference"] == first.json()["reference"]
    assert _counts(vault) == after_first


def test_d5_d12_a_used_proof_whose_case_was_destroyed_is_refused_without_a_reference(
    client: TestClient, vault: Vault
) -> None:
    proof = _proof(client)
    first = client.post("/advies/burger", data={**ADVICE, **proof}, files=EMPTY_FILE)
    assert first.status_code == 201, first.text
    with vault.db.session() as session:
        (case_id,) = session.scalars(select(IntakeReceipt.case_id)).all()
    operator = Context(actor_id="os:tester", role="operator", access_point="cli", clock=vault.clock)
    destruction.destroy_case(vault, operator, case_id, reason="retention_expired")
    with vault.db.session() as session:
        assert session.scalars(select(IntakeReceipt)).all() == []  # removed with the case (D12)

    again = client.post("/advies/burger", data={**ADVICE, **proof}, files=EMPTY_FILE)
    assert again.status_code == 400, again.text
    assert again.json()["reason"] == "pow_replayed"
    assert "reference" not in again.json()


def test_d5_d8_receipts_are_forgotten_after_the_hour(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    proof = _proof(client)
    assert client.post("/advies/burger", data={**ADVICE, **proof}, files=EMPTY_FILE).status_code == 201
    clock.advance(minutes=59)
    intake.forget_old_attempts(vault)
    with vault.db.session() as session:
        assert len(session.scalars(select(IntakeReceipt)).all()) == 1
    clock.advance(minutes=2)
    intake.forget_old_attempts(vault)
    with vault.db.session() as session:
        assert session.scalars(select(IntakeReceipt)).all() == []


@pytest.mark.browser
def test_d5_the_page_sends_again_after_a_lost_answer_and_shows_the_first_reference(
    browser: Any, live_server: Any, world: World, vault: Vault, screenshots: Path
) -> None:
    """Chromium at phone width: the first send reaches the server, its answer is dropped (the page sees
    a network error); "Versturen" again shows the reference of the one case that was opened."""
    base = live_server.url
    context = browser.new_context(locale="nl-NL", viewport=PHONE, is_mobile=True, has_touch=True)
    context.set_default_timeout(20_000)
    page = context.new_page()
    answers: list[dict[str, Any]] = []

    def drop_the_first_answer(route: Any) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        response = route.fetch()  # the server receives the form and answers …
        answers.append({"status": response.status, "body": response.json()})
        if len(answers) == 1:
            route.abort("connectionreset")  # … but the page never hears it
        else:
            route.fulfill(response=response)

    page.route("**/advies/burger", drop_the_first_answer)
    before = _counts(vault)
    page.goto(f"{base}/advies/burger")
    page.locator("#relatie").select_option("zelf")
    page.locator("#zorgen").fill("Ik maak me zorgen over de buren.")
    page.get_by_role("button", name="Versturen").click()
    page.wait_for_function("document.querySelector('[role=alert], .status') !== null")
    page.wait_for_selector("text=Controleer uw internetverbinding")
    page.get_by_role("button", name="Versturen").click()
    page.wait_for_selector("#receipt:not([hidden])")
    page.screenshot(path=str(screenshots / "intake-nogmaals-verstuurd.png"), full_page=True)

    assert [a["status"] for a in answers] == [201, 200]
    first_reference = answers[0]["body"]["reference"]
    assert page.locator("#reference").inner_text() == first_reference
    assert "al goed ontvangen" in page.locator("#receipt").inner_text()
    cases, received = _counts(vault)
    assert (cases, received) == (before[0] + 1, before[1] + 1)
    context.close()
