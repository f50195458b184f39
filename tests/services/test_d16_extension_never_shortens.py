"""D16 (D15, D9): an "extension" never moves a disclosure's end earlier (nor to the same moment): it is
refused with 400 (rule ``d16-extension-not-later``), nothing changes and nothing is logged as extended.
An extension's entry records the end before and after (timestamps only)."""

from __future__ import annotations

import json
from datetime import datetime

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.helpers import api_user
from tests.partner_api import TEAM, disclose, open_report, put_doc
from vault.context import FrozenClock
from vault.domain import AuditTag, Category, OrgType, Role
from vault.models import AuditEntry, Grant
from vault.runtime import Vault


def test_d16_an_extension_never_moves_the_end_date_earlier(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    worker = api_user(client, vault, clock, Role.MEDEWERKER, team=TEAM)
    partner = api_user(client, vault, clock, Role.PARTNER, org=("Lokaal team", OrgType.LOCAL_TEAM))
    case_id = open_report(vault, worker)
    put_doc(client, worker, case_id, b"voorwaarden", Category.SAFETY_CONDITIONS)
    status, grant = disclose(
        client,
        worker,
        case_id,
        org_id=partner.org_id,
        purpose="overdracht",
        legal_basis="wmo-4.1.1-2-help",
        categories=["safety_conditions"],
        valid_days=60,
    )
    assert status == 201, grant
    before = datetime.fromisoformat(grant["valid_until"])
    for days in (2, 60):  # earlier, and the same end
        r = client.post(
            f"/api/v1/disclosures/{grant['id']}/extend", headers=worker.headers, json={"days": days}
        )
        assert r.status_code == 400, r.text
    with vault.db.session() as session:
        row = session.get(Grant, grant["id"])
        assert row is not None
        assert row.valid_until == before
        extended = session.scalars(
            select(AuditEntry).where(AuditEntry.tag == str(AuditTag.DISCLOSURE_GRANT_EXTENDED))
        ).all()
    assert extended == []


def test_d16_an_extension_records_the_end_before_and_after(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    worker = api_user(client, vault, clock, Role.MEDEWERKER, team=TEAM)
    partner = api_user(client, vault, clock, Role.PARTNER, org=("Lokaal team", OrgType.LOCAL_TEAM))
    case_id = open_report(vault, worker)
    put_doc(client, worker, case_id, b"voorwaarden", Category.SAFETY_CONDITIONS)
    status, grant = disclose(
        client,
        worker,
        case_id,
        org_id=partner.org_id,
        purpose="overdracht",
        legal_basis="wmo-4.1.1-2-help",
        categories=["safety_conditions"],
        valid_days=10,
    )
    assert status == 201, grant
    r = client.post(f"/api/v1/disclosures/{grant['id']}/extend", headers=worker.headers, json={"days": 20})
    assert r.status_code == 200, r.text
    with vault.db.session() as session:
        [entry] = session.scalars(
            select(AuditEntry).where(AuditEntry.tag == str(AuditTag.DISCLOSURE_GRANT_EXTENDED))
        ).all()
        details = json.loads(entry.details)
    assert datetime.fromisoformat(details["valid_until_before"]) == datetime.fromisoformat(
        grant["valid_until"]
    )
    assert datetime.fromisoformat(details["valid_until_after"]) == datetime.fromisoformat(
        r.json()["valid_until"]
    )
