"""The share form (D9): it offers the case's live sharing consents by whose and for which organisation, and a
refusal on consent is explained in Dutch (403) and audited as a denied attempt."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.web.world import PARTNER_ORG, World, csrf_of, web_login
from vault.app import create_app
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, Role
from vault.models import AuditEntry, Grant
from vault.runtime import Vault
from vault.services import subjects
from vault.services.subjects import ConsentScope, Relation


@pytest.fixture
def worker_client(vault: Vault, clock: FrozenClock, world: World) -> Iterator[TestClient]:
    with TestClient(create_app(vault)) as client:
        web_login(client, world.worker, clock)
        yield client


def _ctx(vault: Vault, world: World) -> Context:
    return Context(
        actor_id=world.worker.user_id,
        role=str(Role.MEDEWERKER),
        access_point="test",
        second_factor_verified=True,
        factor_checked_at=vault.clock.now(),
        clock=vault.clock,
    )


def _share(
    client: TestClient, world: World, token: str, consent_reference: str, *, anyway: bool = False
) -> int:
    data = {
        "csrf_token": token,
        "org_id": world.org_id,
        "purpose": "steun",
        "legal_basis": "consent",
        "contact_name": "Marieke de Vries",  # D23
        "contact_phone": "030 123 45 67",
        "consent_reference": consent_reference,
        "categories": "safety_conditions",
        "valid_days": "7",
        "max_retrievals": "2",
    }
    if anyway:
        data["toch_delen"] = "1"
    r = client.post(f"/zaken/{world.case_id}/delen", data=data, follow_redirects=False)
    if r.status_code == 403:
        assert "geen geldige vastgelegde toestemming" in r.text
        # The one reason sits beside the consent field (no live consent is left to choose) and the rest
        # of what was typed is kept.
        assert 'id="consent_reference-fout"' in r.text
        assert 'value="steun"' in r.text
    if r.status_code == 409:  # the world already shares the safety conditions with this organisation
        assert "Er loopt al een verstrekking" in r.text
        assert "Toch delen" in r.text
    return int(r.status_code)


def test_d9_share_form_offers_live_consents_and_refuses_a_withdrawn_one_in_dutch(
    worker_client: TestClient, vault: Vault, world: World
) -> None:
    ctx = _ctx(vault, world)
    empty = worker_client.get(f"/zaken/{world.case_id}/delen")
    assert empty.status_code == 200
    assert "geen geldige toestemming om te delen vastgelegd" in empty.text
    consent = subjects.record_consent(
        vault,
        ctx,
        world.case_id,
        scope=ConsentScope.SHARE_WITH_PARTNER,
        given_by=Relation.PARENT,
        recipient_org_id=world.org_id,
    )
    form = worker_client.get(f"/zaken/{world.case_id}/delen")
    assert f"Ouder: delen met {PARTNER_ORG}" in form.text
    token = csrf_of(form.text)

    subjects.withdraw_consent(vault, _ctx(vault, world), world.case_id, consent)
    assert "Ouder: delen met" not in worker_client.get(f"/zaken/{world.case_id}/delen").text
    assert _share(worker_client, world, token, consent) == 403
    with vault.db.session() as session:
        denied = session.scalars(
            select(AuditEntry.rule).where(
                AuditEntry.case_id == world.case_id, AuditEntry.tag == str(AuditTag.DISCLOSURE_GRANT_DENIED)
            )
        ).all()
    assert denied == ["d9-consent-withdrawn"]

    live = subjects.record_consent(
        vault,
        _ctx(vault, world),
        world.case_id,
        scope=ConsentScope.SHARE_WITH_PARTNER,
        given_by=Relation.PARENT,
        recipient_org_id=world.org_id,
    )
    assert _share(worker_client, world, token, live) == 409
    assert _share(worker_client, world, token, live, anyway=True) == 303
    with vault.db.session() as session:
        assert session.scalars(select(Grant.consent_id).where(Grant.consent_id.is_not(None))).all() == [live]
