"""Session 16 review, P1: a proof of work is used up only by a submission that was received.

The public form burned the proof (remembered its challenge as used) when it was admitted, before the
answers were checked and before the case was opened. A submission refused for its answers (D19: a
placeholder name; D5: a birth date in the future) or because the service could not take it (503)
used up the proof all the same. When the page then sent the corrected form with that proof — its
fetch of a fresh challenge failed on a poor connection, or the person pressed "Versturen" before it
came — the answer was "Dit formulier is al eens verstuurd": a report of abuse that was never received
is announced as sent, and the person who believes it does not call (D5: the triage clock never
starts). Now the proof is remembered in the transaction that opens the case: a refused or failed
submission leaves it unused, and "al eens verstuurd" is only said when a case was opened with it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.helpers import make_team
from tests.web.world import World
from vault.app import create_app
from vault.config import Settings
from vault.domain import AuditTag
from vault.models import AuditEntry, Case
from vault.runtime import Vault
from vault.services import intake
from vault.services.intake import IntakeForm, IntakeRefused, Submission
from vault.services.pow import solve

REPORT = {
    "website": "",
    "naam": "Melder Replay",
    "contact": "06-11223344",
    "relatie": "buren",
    "betrokkene_rol": "kind",
    "betrokkene_naam": "Kind Replay",
    "zorgen": "Ik hoor elke avond een kind huilen en schreeuwen.",
}
EMPTY_FILE = {"bijlage": ("", b"", "application/octet-stream")}


@pytest.fixture
def client(vault: Vault, world: World) -> Iterator[TestClient]:
    with TestClient(create_app(vault)) as c:
        yield c


def _cases(vault: Vault) -> int:
    with vault.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(Case)) or 0)


def _received(vault: Vault) -> int:
    with vault.db.session() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.tag == str(AuditTag.INTAKE_SUBMISSION_RECEIVED))
            )
            or 0
        )


def _proof(client: TestClient) -> dict[str, str]:
    issued = client.get("/formulier/uitdaging").json()
    return {"uitdaging": issued["challenge"], "teller": solve(issued["challenge"], issued["bits"])}


def test_d5_d19_a_proof_used_by_a_submission_refused_for_its_answers_still_sends_the_corrected_form(
    client: TestClient, vault: Vault
) -> None:
    """D19/D5: the answers are refused (a placeholder name), the person corrects them and the page
    sends again with the proof it has: the report is received, not announced as "al eens verstuurd"."""
    proof = _proof(client)
    before = _cases(vault)
    refused = client.post(
        "/melden/burger", data={**REPORT, **proof, "betrokkene_naam": "?"}, files=EMPTY_FILE
    )
    assert refused.status_code == 400, refused.text
    assert refused.json()["problems"], refused.text
    assert _cases(vault) == before

    corrected = client.post("/melden/burger", data={**REPORT, **proof}, files=EMPTY_FILE)
    assert "al eens verstuurd" not in corrected.text, (
        "told the report was already sent while no case exists: " + corrected.text
    )
    assert corrected.status_code == 201, corrected.text
    assert corrected.json()["reference"].startswith("VT-")
    assert _cases(vault) == before + 1

    # Once a case was opened with it, the proof is used: a second send opens nothing and is told the
    # reference of the case it opened (session 17: the answer to the first send may have been lost).
    again = client.post("/melden/burger", data={**REPORT, **proof}, files=EMPTY_FILE)
    assert again.status_code == 200, again.text
    assert again.json()["reference"] == corrected.json()["reference"]
    assert "al goed ontvangen" in again.json()["message"]
    assert _cases(vault) == before + 1


class TestUnavailable:
    """D5: the service could not take the report (503, "Het formulier werkt op dit moment niet"); the
    person sends again later with the same page: received, not "al eens verstuurd"."""

    TEAM = "Intake s16 (nog niet aangemaakt)"

    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return settings.model_copy(update={"intake_team": self.TEAM})

    def test_d5_a_proof_used_by_a_submission_the_service_could_not_take_still_sends_the_report(
        self, client: TestClient, vault: Vault
    ) -> None:
        proof = _proof(client)
        before = _cases(vault)
        failed = client.post("/melden/burger", data={**REPORT, **proof}, files=EMPTY_FILE)
        assert failed.status_code == 503, failed.text
        assert failed.json()["reason"] == "unavailable"
        assert _cases(vault) == before

        make_team(vault, self.TEAM)  # the service is back
        retried = client.post("/melden/burger", data={**REPORT, **proof}, files=EMPTY_FILE)
        assert "al eens verstuurd" not in retried.text, (
            "told the report was already sent while no case exists: " + retried.text
        )
        assert retried.status_code == 201, retried.text
        assert _cases(vault) == before + 1


def test_d5_one_proof_sent_twice_at_once_opens_one_case(vault: Vault, world: World) -> None:
    """The replay check and the case are one step: the same proof sent twice at the same moment (a
    double click, a browser's retry) opens exactly one case; the other is told that case's reference."""
    challenge = intake.new_challenge(vault, "198.51.100.16")
    counter = solve(challenge.token, challenge.bits)
    submission = Submission(
        form=IntakeForm.ADVICE_CITIZEN, answers=(("Waar maakt u zich zorgen over?", "Twijfel."),)
    )
    barrier = threading.Barrier(2)
    outcomes: list[str] = []
    references: list[str] = []
    errors: list[BaseException] = []

    def one() -> None:
        try:
            admitted = intake.admit(
                vault, client_address="198.51.100.16", token=challenge.token, counter=counter, honeypot=""
            )
            barrier.wait(timeout=30)
            ctx = intake.public_context(vault, "rid-s16")
            receipt = intake.receive(vault, ctx, submission, used=admitted)
            outcomes.append("received")
            references.append(receipt.reference)
        except intake.AlreadyReceived as already:
            outcomes.append(already.reason)
            references.append(already.reference)
        except IntakeRefused as refused:
            outcomes.append(refused.reason)
        except BaseException as exc:  # noqa: BLE001 — reported below
            errors.append(exc)

    before = (_cases(vault), _received(vault))
    threads = [threading.Thread(target=one, daemon=True) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert sorted(outcomes) == ["pow_received", "received"], outcomes
    assert len(set(references)) == 1, references
    assert (_cases(vault), _received(vault)) == (before[0] + 1, before[1] + 1)
