"""D2, D9: the consent forms decide who may use them before they read what was typed. A professional
who asked advice (role ``professional``) who posts a consent form — invalid or not — gets the Dutch
refusal page (403, audited with rule ``d9-consent-staff-only``), never the form back with a 400 that
tells how it was filled in, and nothing is written; the same for withdrawing a consent. Staff who post an
invalid form still get it back with the message at the field (400)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.web.test_d3_share_form_staff_only import _advice_with_a_sharing_consent
from tests.web.world import csrf_of, web_login
from vault.app import create_app
from vault.context import FrozenClock
from vault.domain import AuditTag
from vault.models import AuditEntry, Consent
from vault.runtime import Vault

INVALID_FORMS = (
    {"scope": "no-such-scope", "given_by": "parent", "recipient_org_id": ""},
    {"scope": "register_personal_data", "given_by": "nobody", "recipient_org_id": ""},
    {"scope": "share_with_partner", "given_by": "parent", "recipient_org_id": ""},
    {"scope": "", "given_by": "", "recipient_org_id": ""},
)


def _consents(vault: Vault, case_id: str) -> list[tuple[str, object]]:
    with vault.db.session() as session:
        return [
            (c.id, c.withdrawn_at) for c in session.scalars(select(Consent).where(Consent.case_id == case_id))
        ]


def _refusals(vault: Vault, case_id: str) -> int:
    with vault.db.session() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(
                    AuditEntry.tag == str(AuditTag.DOSSIER_ACCESS_DENIED),
                    AuditEntry.case_id == case_id,
                    AuditEntry.rule == "d9-consent-staff-only",
                )
            )
            or 0
        )


def test_d2_a_professional_posting_an_invalid_consent_form_gets_the_403_first(
    vault: Vault, clock: FrozenClock
) -> None:
    advice = _advice_with_a_sharing_consent(vault)
    before, refused = _consents(vault, advice.case_id), _refusals(vault, advice.case_id)
    path = f"/zaken/{advice.case_id}/toestemmingen"
    with TestClient(create_app(vault)) as client:
        web_login(client, advice.professional, clock)
        token = csrf_of(client.get(f"/zaken/{advice.case_id}").text)
        form_page = client.get(f"{path}/nieuw")
        answers = [client.post(path, data={**form, "csrf_token": token}) for form in INVALID_FORMS]
        answers.append(
            client.post(
                path,
                data={"scope": "register_personal_data", "given_by": "parent", "csrf_token": token},
            )
        )
        withdrawn = client.post(f"{path}/{advice.consent_id}/intrekken", data={"csrf_token": token})
    for r in [*answers, withdrawn]:
        assert r.status_code == 403, (r.status_code, r.text[:300])
        assert "Geen toegang" in r.text
        assert "Kies waarvoor de toestemming geldt" not in r.text
        assert "Kies wie de toestemming gaf" not in r.text
    assert form_page.status_code == 403  # the form is not offered either
    assert _consents(vault, advice.case_id) == before  # nothing written, nothing withdrawn
    assert _refusals(vault, advice.case_id) == refused + 1 + len(answers) + 1  # each refusal audited


def test_d2_staff_with_an_invalid_consent_form_get_it_back_with_the_message(
    vault: Vault, clock: FrozenClock
) -> None:
    advice = _advice_with_a_sharing_consent(vault)
    before = _consents(vault, advice.case_id)
    path = f"/zaken/{advice.case_id}/toestemmingen"
    with TestClient(create_app(vault)) as client:
        web_login(client, advice.worker, clock)
        token = csrf_of(client.get(f"{path}/nieuw").text)
        r = client.post(path, data={**INVALID_FORMS[0], "csrf_token": token})
    assert r.status_code == 400, r.text[:300]
    assert "Kies waarvoor de toestemming geldt." in r.text
    assert _consents(vault, advice.case_id) == before
