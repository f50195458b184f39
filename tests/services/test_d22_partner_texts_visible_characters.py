"""D22 (D23): the texts a partner reads — the partner-facing title, the purpose, the Veilig Thuis
contact's name (and phone) — refuse control (C0, DEL, C1) and bidi characters and text of only invisible
characters, as every other title and name in the vault (``person_fields.unfit_characters``): what the
partner reads is what the register and the log review see. Refused with 422 naming the field; nothing
is granted."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.helpers import api_user
from tests.partner_api import TEAM, disclose, open_report, put_doc
from vault.context import FrozenClock
from vault.domain import Category, OrgType, Role
from vault.models import Grant
from vault.runtime import Vault


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("partner_title", "Veiligheidsplan \u202egnalsnegeT"),
        ("partner_title", "Veiligheidsplan\u0085tweede regel"),
        ("partner_title", "\u200b\u200b"),
        ("purpose", "overdracht \u202ekcirtsid"),
        ("purpose", "\u2066\u2069"),
        ("contact_name", "Marieke \u202esevirD"),
    ],
)
def test_d22_partner_facing_texts_refuse_disguising_characters(
    client: TestClient, vault: Vault, clock: FrozenClock, field: str, value: str
) -> None:
    worker = api_user(client, vault, clock, Role.MEDEWERKER, team=TEAM)
    partner = api_user(client, vault, clock, Role.PARTNER, org=("Lokaal team", OrgType.LOCAL_TEAM))
    case_id = open_report(vault, worker)
    put_doc(client, worker, case_id, b"voorwaarden", Category.SAFETY_CONDITIONS)
    body = {
        "org_id": partner.org_id,
        "purpose": "overdracht",
        "legal_basis": "wmo-4.1.1-2-help",
        "categories": ["safety_conditions"],
        field: value,
    }
    status, answer = disclose(client, worker, case_id, **body)
    assert status in (400, 422), (status, answer)
    assert field in str(answer)
    with vault.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Grant)) == 0


def test_d22_an_ordinary_partner_title_with_accents_is_accepted(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    worker = api_user(client, vault, clock, Role.MEDEWERKER, team=TEAM)
    partner = api_user(client, vault, clock, Role.PARTNER, org=("Lokaal team", OrgType.LOCAL_TEAM))
    case_id = open_report(vault, worker)
    put_doc(client, worker, case_id, b"voorwaarden", Category.SAFETY_CONDITIONS)
    status, answer = disclose(
        client,
        worker,
        case_id,
        org_id=partner.org_id,
        purpose="overdracht",
        legal_basis="wmo-4.1.1-2-help",
        categories=["safety_conditions"],
        partner_title="Veiligheidsplan gezin — afspraken café",
    )
    assert status == 201, answer
