"""The privacy officer's pages check the role before anything typed is looked up: a case reference is
resolved over every case and a username over every account, so a staff member who could post these
forms would learn which cases and colleagues exist (303 vs 400, "more than one" vs "no such user").
Anyone else gets the same 403 page whatever they typed, and each refusal is audited (D16) with what
was attempted, never what was typed."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.web.world import World, csrf_of, web_login
from vault.app import create_app
from vault.context import FrozenClock
from vault.domain import AuditTag, reference_of
from vault.models import AuditEntry
from vault.runtime import Vault

MISSING = "VT-FFFF"  # the beginning of a reference that no case has


def _entries(vault: Vault) -> list[AuditEntry]:
    with vault.db.session() as session:
        return list(session.scalars(select(AuditEntry).order_by(AuditEntry.seq)))


def _count(vault: Vault) -> int:
    with vault.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


@pytest.fixture
def outsider(vault: Vault, world: World, clock: FrozenClock) -> tuple[TestClient, str]:
    client = TestClient(create_app(vault))
    web_login(client, world.outsider, clock)
    return client, csrf_of(client.get("/eigen-gegevens").text)


def _post(client: TestClient, path: str, token: str, **fields: str) -> tuple[int, str]:
    r = client.post(path, data={**fields, "csrf_token": token}, follow_redirects=False)
    return r.status_code, r.text


def test_d16_a_case_reference_is_no_oracle_for_staff(
    vault: Vault, world: World, outsider: tuple[TestClient, str]
) -> None:
    client, token = outsider
    before = _count(vault)
    hit = _post(client, "/fg/toegang", token, zaak=reference_of(world.case_id)[:7])
    miss = _post(client, "/fg/toegang", token, zaak=MISSING)
    bad = _post(client, "/fg/toegang", token, zaak="Kanarie Kind Jansen")
    assert hit[0] == miss[0] == bad[0] == 403
    assert hit[1] == miss[1] == bad[1]  # the same page, whatever was typed
    assert world.case_id not in hit[1]
    refusals = _entries(vault)[before:]
    assert [(e.tag, e.decision, e.actor_id) for e in refusals] == [
        (AuditTag.AUDIT_ACCESS_DENIED.value, "deny", world.outsider.user_id)
    ] * 3
    for entry in refusals:
        assert json.loads(entry.details) == {"attempted": AuditTag.AUDIT_ACCESS_REPORT_VIEWED.value}
        assert entry.rule
        assert entry.case_id is None


def test_d16_a_username_is_no_oracle_for_staff(
    vault: Vault, world: World, outsider: tuple[TestClient, str]
) -> None:
    client, token = outsider
    answers = {
        path: [
            _post(client, path, token, medewerker=typed, zaak=typed)
            for typed in (world.worker.username, "u-", "zzzz-niemand", "Piet de Vries")
        ]
        for path in ("/fg/medewerker", "/fg/zoeken")
    }
    for path, pages in answers.items():
        assert {status for status, _ in pages} == {403}, path
        assert len({text for _, text in pages}) == 1, path
    assert all("Piet" not in e.details and "niemand" not in e.details for e in _entries(vault))


def test_d16_every_fg_form_refuses_staff_before_anything_else(
    vault: Vault, world: World, outsider: tuple[TestClient, str]
) -> None:
    client, token = outsider
    before = _count(vault)
    for path in ("/fg/zoeken", "/fg/medewerker", "/fg/toegang", "/fg/export"):
        assert client.get(path, follow_redirects=False).status_code == 403, path
    # The export needs a fresh second factor too: the role is checked first, so no step-up detour.
    assert _post(client, "/fg/export", token, zaak=MISSING, format="csv")[0] == 403
    assert _post(client, "/fg/noodtoegang", token, seq="1", outcome="justified")[0] == 403
    assert _post(client, "/fg/logcontrole/1", token, status="verklaard")[0] == 403
    assert _post(client, "/fg/logcontrole/controle", token, ontbrekend="ja")[0] == 403
    refusals = _entries(vault)[before:]
    assert len(refusals) == 8
    assert {e.tag for e in refusals} == {AuditTag.AUDIT_ACCESS_DENIED.value}


def test_d15_the_privacy_officer_still_finds_a_case_by_its_reference(
    vault: Vault, world: World, clock: FrozenClock
) -> None:
    client = TestClient(create_app(vault))
    web_login(client, world.officer, clock)
    token = csrf_of(client.get("/fg/toegang").text)
    found = client.post(
        "/fg/toegang",
        data={"zaak": reference_of(world.case_id)[:7], "csrf_token": token},
        follow_redirects=False,
    )
    assert found.status_code == 303
    assert found.headers["location"] == f"/fg/toegang/{world.case_id}"
    missing = client.post("/fg/toegang", data={"zaak": MISSING, "csrf_token": token})
    assert missing.status_code == 400
    assert "Geen zaak met dit zaaknummer." in missing.text
    person = client.post("/fg/medewerker", data={"medewerker": world.worker.username, "csrf_token": token})
    assert person.status_code == 200
