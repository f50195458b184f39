"""A form sent after the step-up expired loses nothing (D17): the step-up is asked with what was typed
carried along (hidden fields, nothing kept on the server) and one click sends it on afterwards.

The browser's half (a real re-post after a 307, the passkey path) is in ``test_workflow_browser.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from html import unescape

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.helpers import ctx_for
from tests.web.world import World, csrf_of, web_login
from vault.app import create_app
from vault.context import FrozenClock
from vault.domain import AuditTag, Role
from vault.labels import AMSTERDAM
from vault.models import AuditEntry
from vault.runtime import Vault
from vault.services.disclosures import list_case_disclosures

_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


@pytest.fixture
def worker_client(vault: Vault, clock: FrozenClock, world: World) -> Iterator[TestClient]:
    with TestClient(create_app(vault)) as client:
        web_login(client, world.worker, clock)
        yield client


def _hidden(html: str) -> list[tuple[str, str]]:
    return [(name, unescape(value)) for name, value in _HIDDEN.findall(html)]


def _valid_until(vault: Vault, world: World) -> str:
    ctx = ctx_for(vault, world.worker.user_id, Role.MEDEWERKER)
    grant = next(g for g in list_case_disclosures(vault, ctx, world.case_id) if g.id == world.grant_id)
    return grant.valid_until.astimezone(AMSTERDAM).strftime("%d-%m-%Y")


def _extensions(vault: Vault) -> int:
    with vault.db.session() as session:
        tag = str(AuditTag.DISCLOSURE_GRANT_EXTENDED)
        return session.scalar(select(func.count()).where(AuditEntry.tag == tag)) or 0


def test_d17_an_expired_step_up_asks_for_the_code_and_keeps_what_was_typed(
    worker_client: TestClient, vault: Vault, world: World, clock: FrozenClock
) -> None:
    path = f"/zaken/{world.case_id}/verstrekkingen/{world.grant_id}/verlengen"
    token = csrf_of(worker_client.get(f"/zaken/{world.case_id}").text)
    clock.advance(minutes=vault.settings.step_up_minutes + 1)
    day = (clock.now().astimezone(AMSTERDAM) + timedelta(days=60)).strftime("%d-%m-%Y")
    typed = {"csrf_token": token, "valid_until": day}
    before = _valid_until(vault, world)

    # The post is sent on to the step-up with a 307: the browser re-sends the same body there.
    r = worker_client.post(path, data=typed, follow_redirects=False)
    assert r.status_code == 307
    assert r.headers["location"] == f"/bevestigen?terug={path}&mee=true"
    asked = worker_client.post(r.headers["location"], data=typed, follow_redirects=False)
    assert asked.status_code == 200
    assert "Bevestig met een nieuwe code" in asked.text
    assert ("mee.valid_until", day) in _hidden(asked.text)
    assert ("terug", path) in _hidden(asked.text)
    assert not any(name.endswith("csrf_token") and name != "csrf_token" for name, _ in _hidden(asked.text))
    assert _valid_until(vault, world) == before  # nothing done yet

    # A wrong code: asked again, still carrying the field.
    step = {"csrf_token": token, "terug": path, "mee.valid_until": day}
    wrong = worker_client.post("/bevestigen", data={**step, "code": "000000"}, follow_redirects=False)
    assert wrong.status_code == 401
    assert ("mee.valid_until", day) in _hidden(wrong.text)

    # The right code: a page that sends the form on, the typed date in it; still nothing done.
    done = worker_client.post(
        "/bevestigen", data={**step, "code": world.worker.code(clock)}, follow_redirects=False
    )
    assert done.status_code == 200
    assert "Formulier versturen" in done.text
    assert f'action="{path}"' in done.text
    carried = _hidden(done.text)
    assert ("valid_until", day) in carried
    assert _valid_until(vault, world) == before
    assert _extensions(vault) == 0

    # One click: extended to exactly the date typed before the step-up.
    resumed = worker_client.post(path, data=dict(carried), follow_redirects=False)
    assert resumed.status_code == 303, resumed.text
    assert _valid_until(vault, world) == day
    assert _extensions(vault) == 1


def test_d17_the_carried_form_still_needs_its_own_security_token(
    worker_client: TestClient, vault: Vault, world: World, clock: FrozenClock
) -> None:
    """The re-sent post is checked like any form: without the session's token it is refused, nothing
    is echoed back."""
    path = f"/zaken/{world.case_id}/verstrekkingen/{world.grant_id}/verlengen"
    r = worker_client.post(
        f"/bevestigen?terug={path}&mee=true",
        data={"csrf_token": "vals", "valid_until": "31-12-2030"},
        follow_redirects=False,
    )
    assert r.status_code == 403
    assert "31-12-2030" not in r.text


def test_d17_a_step_up_asked_by_a_link_carries_nothing(
    worker_client: TestClient, vault: Vault, world: World, clock: FrozenClock
) -> None:
    """A page (GET) that needs a step-up still goes to the step-up page with a 303, back to itself."""
    path = f"/zaken/{world.case_id}/verstrekkingen/{world.grant_id}/verlengen"
    clock.advance(minutes=vault.settings.step_up_minutes + 1)
    r = worker_client.get(path, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == f"/bevestigen?terug={path}"
    asked = worker_client.get(r.headers["location"])
    assert {name for name, _ in _hidden(asked.text)} == {"csrf_token", "terug"}


def test_d17_carried_values_are_escaped(
    worker_client: TestClient, vault: Vault, world: World, clock: FrozenClock
) -> None:
    """What rides along is text in an attribute, never markup of the page."""
    path = f"/zaken/{world.case_id}/verstrekkingen/{world.grant_id}/verlengen"
    token = csrf_of(worker_client.get(f"/zaken/{world.case_id}").text)
    typed = '"><b id="x">'
    asked = worker_client.post(
        f"/bevestigen?terug={path}&mee=true", data={"csrf_token": token, "valid_until": typed}
    )
    assert asked.status_code == 200
    assert typed not in asked.text
    assert ("mee.valid_until", typed) in _hidden(asked.text)  # the same text, escaped
