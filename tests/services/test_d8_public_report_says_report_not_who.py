"""D8 (D10): the document a public form's report is stored as says report or advice, never which form
(``melden-professional`` / ``melden-burger``): a partner who receives the report would learn that a
professional reported, which for a family with one school and one GP names the reporter. The form kind
stays in the (ids-only) audit entry ``intake:submission:received`` for staff."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.helpers import api_user
from tests.partner_api import TEAM, disclose
from vault.context import Context, FrozenClock
from vault.domain import OrgType, Role
from vault.runtime import Vault
from vault.services.intake import IntakeForm, Submission, receive
from vault.services.person_fields import ReporterFields


def test_d8_the_partners_copy_of_a_public_report_does_not_say_the_reporter_is_a_professional(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    worker = api_user(client, vault, clock, Role.MEDEWERKER, team=TEAM)  # the first team: intake team
    partner = api_user(client, vault, clock, Role.PARTNER, org=("Lokaal team", OrgType.LOCAL_TEAM))
    ctx = Context(actor_id="public_form", role="public_form", access_point="public_form", clock=vault.clock)
    receipt = receive(
        vault,
        ctx,
        Submission(
            form=IntakeForm.REPORT_PROFESSIONAL,
            answers=(("Waar maakt u zich zorgen over?", "Het kind komt vaak met blauwe plekken."),),
            reporter=ReporterFields(
                name="Juf Jansen", professional=True, contact="0612345678", organisation="De Regenboog"
            ),
        ),
    )
    status, grant = disclose(
        client,
        worker,
        receipt.case_id,
        org_id=partner.org_id,
        purpose="warme overdracht",
        legal_basis="wmo-4.1.1-2-help",
        categories=["report"],
    )
    assert status == 201, grant
    inbox = client.get("/api/v1/partner/inbox", headers=partner.headers).json()
    [doc] = inbox[0]["documents"]
    r = client.get(f"/api/v1/documents/{doc['document_id']}/content", headers=partner.headers)
    assert r.status_code == 200, r.text
    text = r.content.decode("utf-8")
    assert text.startswith("Ontvangen via het online meldformulier\n"), text
    assert "professional" not in text, text
    assert "burger" not in text, text


@pytest.mark.parametrize(
    ("form", "first_line"),
    [
        (IntakeForm.REPORT_PROFESSIONAL, "Ontvangen via het online meldformulier"),
        (IntakeForm.REPORT_CITIZEN, "Ontvangen via het online meldformulier"),
        (IntakeForm.ADVICE_PROFESSIONAL, "Ontvangen via het online adviesformulier"),
        (IntakeForm.ADVICE_CITIZEN, "Ontvangen via het online adviesformulier"),
    ],
)
def test_d8_the_first_line_says_report_or_advice_only(form: IntakeForm, first_line: str) -> None:
    text = Submission(form=form, answers=(("Vraag", "Antwoord"),)).narrative().decode("utf-8")
    assert text.splitlines()[0] == first_line
    assert str(form) not in text
