"""D21: the privacy officer's verdict on a finding is a decision someone can be held to.

- It needs a fresh second factor, on the API and the web: a session left open on a desk must not close
  what the review flagged about a colleague.
- "Verklaard" closes a finding as benign, so it says why; an empty or blank comment is refused and
  nothing changes.
- A finding about the officer themselves (a probing, an own-circle read of an inzage copy …) can only be
  escalated: the officer cannot clear their own name. The refusal is audited.
"""

from __future__ import annotations

from typing import Any

import pyotp
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.helpers import ApiUser, api_user, probing_finding
from tests.web.world import build_world, csrf_of, web_login
from vault.app import create_app
from vault.context import FrozenClock
from vault.domain import AuditTag, Role
from vault.logcontrole.service import OWN_FINDING
from vault.models import AuditEntry, Finding
from vault.runtime import Vault

CASE = "0b6c9d2e-4a8f-4c1e-9b7a-2f3d4e5a6b7c"
WHY = "Besproken met de teamleider: de zaak was net aan het team toegewezen."


def _status(vault: Vault, finding_id: int) -> tuple[str, bytes | None]:
    with vault.db.session() as session:
        found = session.get(Finding, finding_id)
        assert found is not None
        return found.status, found.comment_enc


def _changes(vault: Vault) -> list[AuditEntry]:
    with vault.db.session() as session:
        tag = AuditTag.AUDIT_FINDING_STATUS_CHANGED.value
        return list(session.scalars(select(AuditEntry).where(AuditEntry.tag == tag).order_by(AuditEntry.seq)))


def _verdict(client: TestClient, fg: ApiUser, finding_id: int, **body: Any) -> tuple[int, dict[str, Any]]:
    r = client.post(f"/api/v1/audit/findings/{finding_id}/status", headers=fg.headers, json=body)
    return r.status_code, r.json()


def test_d21_a_verdict_needs_a_fresh_second_factor(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    fg = api_user(client, vault, clock, Role.PRIVACY_OFFICER)
    worker = api_user(client, vault, clock, Role.MEDEWERKER, team="team-a")
    finding_id = probing_finding(vault, clock, worker.user_id, "medewerker")
    clock.advance(minutes=6)

    status, body = _verdict(client, fg, finding_id, status="verklaard", comment=WHY)
    assert (status, body["error"]) == (401, "step_up_required")
    assert _status(vault, finding_id) == ("nieuw", None)
    assert _changes(vault) == []

    r = client.post(
        "/api/v1/auth/step-up", headers=fg.headers, json={"code": pyotp.TOTP(fg.secret).at(clock.now())}
    )
    assert r.status_code == 200, r.text
    fresh = ApiUser(fg.user_id, r.json()["token"], fg.secret)
    status, body = _verdict(client, fresh, finding_id, status="verklaard", comment=WHY)
    assert status == 200, body
    assert _status(vault, finding_id)[0] == "verklaard"


def test_d21_explained_needs_a_comment_other_statuses_do_not(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    fg = api_user(client, vault, clock, Role.PRIVACY_OFFICER)
    worker = api_user(client, vault, clock, Role.MEDEWERKER, team="team-a")
    finding_id = probing_finding(vault, clock, worker.user_id, "medewerker")

    for comment in (None, "", "  \n\t "):
        status, body = _verdict(client, fg, finding_id, status="verklaard", comment=comment)
        assert status == 400, body
        assert "comment" in body["detail"]
    assert _status(vault, finding_id) == ("nieuw", None)
    assert _changes(vault) == []

    status, body = _verdict(client, fg, finding_id, status="in_behandeling")
    assert status == 200, body
    status, body = _verdict(client, fg, finding_id, status="verklaard", comment=WHY)
    assert status == 200, body
    assert body["has_comment"]


def test_d21_a_finding_about_the_officer_can_only_be_escalated(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    fg = api_user(client, vault, clock, Role.PRIVACY_OFFICER)
    other_fg = api_user(client, vault, clock, Role.PRIVACY_OFFICER)
    finding_id = probing_finding(vault, clock, fg.user_id, "privacy_officer")

    for status_code in ("verklaard", "in_behandeling", "nieuw"):
        status, body = _verdict(client, fg, finding_id, status=status_code, comment=WHY)
        assert (status, body["error"]) == (403, "forbidden"), body
    assert _status(vault, finding_id) == ("nieuw", None)
    refused = _changes(vault)
    assert [(e.actor_id, e.decision, e.rule, e.object_id) for e in refused] == [
        (fg.user_id, "deny", OWN_FINDING, str(finding_id))
    ] * 3
    assert all("Besproken" not in e.details for e in refused)

    status, body = _verdict(client, fg, finding_id, status="geescaleerd")
    assert status == 200, body
    status, body = _verdict(client, other_fg, finding_id, status="verklaard", comment=WHY)
    assert status == 200, body
    assert body["status_by"] == other_fg.user_id


def _web_post(client: TestClient, finding_id: int, **fields: str) -> Any:
    token = csrf_of(client.get(f"/fg/logcontrole/{finding_id}").text)
    return client.post(
        f"/fg/logcontrole/{finding_id}", data={**fields, "csrf_token": token}, follow_redirects=False
    )


def test_d21_the_finding_page_asks_a_code_a_reason_and_offers_only_escalation_of_ones_own(
    vault: Vault, clock: FrozenClock
) -> None:
    world = build_world(vault)
    client = TestClient(create_app(vault))
    web_login(client, world.officer, clock)
    about_worker = probing_finding(vault, clock, world.worker.user_id, "medewerker")
    about_self = probing_finding(vault, clock, world.officer.user_id, "privacy_officer")

    r = _web_post(client, about_worker, status="verklaard", comment=" ")
    assert r.status_code == 400
    assert "Schrijf op waarom de toegang verklaard is." in r.text
    assert 'value="verklaard" required checked' in r.text  # what was chosen stays chosen

    own = client.get(f"/fg/logcontrole/{about_self}").text
    assert "Deze bevinding gaat over uzelf." in own
    assert 'value="verklaard"' not in own
    assert 'value="geescaleerd"' in own
    r = _web_post(client, about_self, status="verklaard", comment=WHY)
    assert r.status_code == 403
    assert "Een bevinding over uzelf kunt u alleen escaleren." in r.text
    assert WHY in r.text  # what was typed is kept
    assert _status(vault, about_self) == ("nieuw", None)

    clock.advance(minutes=6)
    r = _web_post(client, about_worker, status="verklaard", comment=WHY)
    assert r.status_code == 307
    assert r.headers["location"] == f"/bevestigen?terug=/fg/logcontrole/{about_worker}&mee=true"
    assert _status(vault, about_worker) == ("nieuw", None)
