"""D2 on the consent form: a consent to register personal data is the help seeker's own. The form says
so, offers only the help seeker once that scope is chosen, and answers another giver with a Dutch 400
that keeps what was chosen; nothing is recorded then. A consent to share (D9) is given by someone the
dossier is about, never the alleged perpetrator or "other".

Real app, real accounts with TOTP, real database; the clock is the only double.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.helpers import new_case, team_id_of
from tests.web.world import TEAM, World, csrf_of, web_login
from vault.app import create_app
from vault.context import Context, FrozenClock
from vault.domain import CaseKind, Role
from vault.models import Consent
from vault.runtime import Vault


@pytest.fixture
def worker_client(vault: Vault, clock: FrozenClock, world: World) -> Iterator[TestClient]:
    with TestClient(create_app(vault)) as client:
        web_login(client, world.worker, clock)
        yield client


@pytest.fixture
def advice_case(vault: Vault, world: World) -> str:
    ctx = Context(
        actor_id=world.worker.user_id,
        role=str(Role.MEDEWERKER),
        access_point="test",
        second_factor_verified=True,
        factor_checked_at=vault.clock.now(),
        clock=vault.clock,
    )
    return new_case(vault, ctx, team_id_of(vault, TEAM), CaseKind.ADVICE_HELP_SEEKER)


def _consents(vault: Vault, case_id: str) -> int:
    with vault.db.session() as session:
        count = session.scalar(select(func.count()).select_from(Consent).where(Consent.case_id == case_id))
    return int(count or 0)


def _giver_options(html: str) -> list[str]:
    select_html = html.split('name="given_by"', 1)[1].split("</select>", 1)[0]
    return [v for v in re.findall(r'<option value="([^"]*)"', select_html) if v]


def _post(client: TestClient, case_id: str, scope: str, given_by: str, org_id: str = "") -> tuple[int, str]:
    token = csrf_of(client.get(f"/zaken/{case_id}/toestemmingen/nieuw").text)
    r = client.post(
        f"/zaken/{case_id}/toestemmingen",
        data={"csrf_token": token, "scope": scope, "given_by": given_by, "recipient_org_id": org_id},
        follow_redirects=False,
    )
    return r.status_code, r.text


def test_d2_consent_form_refuses_another_giver_in_dutch_and_keeps_the_choice(
    worker_client: TestClient, vault: Vault, advice_case: str
) -> None:
    page = worker_client.get(f"/zaken/{advice_case}/toestemmingen/nieuw")
    assert page.status_code == 200
    assert "alleen de hulpvrager zelf" in page.text

    status, html = _post(worker_client, advice_case, "register_personal_data", "alleged_perpetrator")
    assert status == 400
    assert "Deze toestemming geeft alleen de hulpvrager zelf" in html
    giver_select = re.search(r'<select id="given_by"[^>]*>', html)
    assert giver_select is not None
    assert 'aria-invalid="true"' in giver_select.group(0)
    assert re.search(r'<option value="register_personal_data" selected>', html)  # the choice is kept
    assert _giver_options(html) == ["help_seeker"]  # only who may give this consent is offered
    assert _consents(vault, advice_case) == 0

    status, _ = _post(worker_client, advice_case, "register_personal_data", "help_seeker")
    assert status == 303
    assert _consents(vault, advice_case) == 1


def test_d2_d9_consent_form_on_a_help_seekers_advice_case_offers_only_the_help_seeker(
    worker_client: TestClient, vault: Vault, advice_case: str, world: World
) -> None:
    """D2, D9: the service accepts only the help seeker's consent on their advice case, whatever the
    scope (``consents.consent_givers``); the form offers no one else, before and after a scope is
    chosen, and no child to name."""
    page = worker_client.get(f"/zaken/{advice_case}/toestemmingen/nieuw")
    assert _giver_options(page.text) == ["help_seeker"]
    assert 'name="subject_id"' not in page.text
    status, html = _post(worker_client, advice_case, "share_with_partner", "parent", world.org_id)
    assert status == 400
    assert _giver_options(html) == ["help_seeker"]
    assert _consents(vault, advice_case) == 0


def test_d9_consent_form_refuses_a_share_consent_from_the_alleged_perpetrator_in_dutch(
    worker_client: TestClient, vault: Vault, advice_case: str, world: World
) -> None:
    page = worker_client.get(f"/zaken/{advice_case}/toestemmingen/nieuw")
    assert "niet de vermoedelijke pleger" in page.text
    status, html = _post(
        worker_client, advice_case, "share_with_partner", "alleged_perpetrator", world.org_id
    )
    assert status == 400
    assert "Deze toestemming geeft een betrokkene, niet de pleger (D9)." in html
    assert re.search(r'<option value="share_with_partner" selected>', html)  # the choice is kept
    assert "alleged_perpetrator" not in _giver_options(html)  # only who may give this consent
    assert "other" not in _giver_options(html)
    assert _consents(vault, advice_case) == 0
    # D2, D9: on a help seeker's advice case a consent to share is the help seeker's own
    status, html = _post(worker_client, advice_case, "share_with_partner", "parent", world.org_id)
    assert status == 400
    assert "bij een adviesvraag van een hulpvrager alleen van de hulpvrager zelf" in html
    assert _consents(vault, advice_case) == 0
    status, _ = _post(worker_client, advice_case, "share_with_partner", "help_seeker", world.org_id)
    assert status == 303
    assert _consents(vault, advice_case) == 1
