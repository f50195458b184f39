"""D9 on the extension page: an expired disclosure is not extended (409, make a new one, which is
checked anew) and the page says so in Dutch, keeping what was typed; nothing changes."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.web.world import World, csrf_of, web_login
from vault.app import create_app
from vault.context import FrozenClock
from vault.domain import reference_of
from vault.labels import AMSTERDAM
from vault.models import Grant
from vault.runtime import Vault


def test_d9_the_extension_page_refuses_an_expired_disclosure_in_dutch_and_changes_nothing(
    vault: Vault, clock: FrozenClock, world: World
) -> None:
    with vault.db.session() as session:
        before = session.scalar(select(Grant.valid_until).where(Grant.id == world.grant_id))
    clock.advance(days=vault.settings.disclosure_default_days + 1)  # the grant has expired
    url = f"/zaken/{world.case_id}/verstrekkingen/{world.grant_id}/verlengen"
    with TestClient(create_app(vault)) as client:
        web_login(client, world.worker, clock)
        form = client.get(url)
        assert form.status_code == 200, form.text
        day = (clock.now() + timedelta(days=10)).astimezone(AMSTERDAM).strftime("%d-%m-%Y")
        refused = client.post(url, data={"valid_until": day, "csrf_token": csrf_of(form.text)})
    assert refused.status_code == 409
    assert "Deze verstrekking is verlopen en kan niet meer worden verlengd" in refused.text
    assert f'value="{day}"' in refused.text  # what was typed stays
    assert f"Zaak {reference_of(world.case_id)}" in refused.text  # the reference people quote
    with vault.db.session() as session:
        assert session.scalar(select(Grant.valid_until).where(Grant.id == world.grant_id)) == before


def test_d16_the_extension_page_refuses_an_earlier_end_in_dutch_and_changes_nothing(
    vault: Vault, clock: FrozenClock, world: World
) -> None:
    """D16: a date before the current end is no extension: 400 with a Dutch reason, nothing changes."""
    with vault.db.session() as session:
        before = session.scalar(select(Grant.valid_until).where(Grant.id == world.grant_id))
    assert before is not None
    url = f"/zaken/{world.case_id}/verstrekkingen/{world.grant_id}/verlengen"
    with TestClient(create_app(vault)) as client:
        web_login(client, world.worker, clock)
        form = client.get(url)
        assert form.status_code == 200, form.text
        day = (before - timedelta(days=2)).astimezone(AMSTERDAM).strftime("%d-%m-%Y")
        refused = client.post(url, data={"valid_until": day, "csrf_token": csrf_of(form.text)})
    assert refused.status_code == 400
    assert "Kies een datum na de huidige einddatum van deze verstrekking" in refused.text
    assert f'value="{day}"' in refused.text
    with vault.db.session() as session:
        assert session.scalar(select(Grant.valid_until).where(Grant.id == world.grant_id)) == before
