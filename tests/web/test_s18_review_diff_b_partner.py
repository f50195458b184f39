"""Session 18 diff review B, partner side (D8): the screen of partner texts also covers a purpose kept
in clear (a grant made before migration 0027, not yet sealed by ``purpose_sealing``).

The world's reporter is "Kanarie Melder" (not a professional, no consent)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.web.world import World, web_login
from vault.app import create_app
from vault.context import FrozenClock
from vault.models import Grant
from vault.runtime import Vault

REPORTER_WORD = "melder"


def _legacy_purpose(vault: Vault, world: World, purpose: str) -> None:
    with vault.db.session() as session:
        grant = session.get(Grant, world.grant_id)
        assert grant is not None
        grant.purpose_enc = None  # made before migration 0027: the purpose is still in clear
        grant.purpose = purpose


def test_d8_a_clear_purpose_naming_the_reporter_is_held_back_on_the_inbox_and_the_api(
    vault: Vault, world: World, clock: FrozenClock
) -> None:
    from vault.services.partner_view import PURPOSE_HELD_BACK

    _legacy_purpose(vault, world, "bellen met Melder")
    web = TestClient(create_app(vault))
    web_login(web, world.partner, clock)
    inbox = web.get("/partner")
    assert inbox.status_code == 200
    assert REPORTER_WORD not in inbox.text.lower()
    assert PURPOSE_HELD_BACK in inbox.text
    api = web.get("/api/v1/partner/inbox")
    assert REPORTER_WORD not in api.text.lower()


def test_d8_a_clear_purpose_not_naming_the_reporter_is_still_shown(
    vault: Vault, world: World, clock: FrozenClock
) -> None:
    _legacy_purpose(vault, world, "warme overdracht gezin Kanarie")
    web = TestClient(create_app(vault))
    web_login(web, world.partner, clock)
    assert "warme overdracht gezin Kanarie" in web.get("/partner").text
