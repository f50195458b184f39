"""Issue 16 item 5: the privacy officer's oversight (``audit:…`` entries: access reports, break-glass
reviews, proofs) never shows on a case worker's timeline — a colleague under review would be tipped
off. The privacy officer reads no case timeline (no READ on content); their own view of the case is
the access report (D15), which does list the oversight."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.helpers import ApiUser, api_user
from tests.robustness.conftest import TEAM, open_team_case
from tests.robustness.support import web_login
from vault.context import FrozenClock
from vault.domain import AuditTag, Role
from vault.labels import AUDIT_TAGS
from vault.runtime import Vault

ORDINARY = str(AuditTag.DOSSIER_CASE_READ)
OVERSIGHT = str(AuditTag.AUDIT_ACCESS_REPORT_VIEWED)


@pytest.fixture
def worker(client: TestClient, vault: Vault, clock: FrozenClock) -> ApiUser:
    return api_user(client, vault, clock, Role.MEDEWERKER, team=TEAM)


@pytest.fixture
def officer(client: TestClient, vault: Vault, clock: FrozenClock) -> ApiUser:
    return api_user(client, vault, clock, Role.PRIVACY_OFFICER)


def _timeline_tags(client: TestClient, user: ApiUser, case_id: str) -> list[str]:
    r = client.get(f"/api/v1/cases/{case_id}", headers=user.headers)
    assert r.status_code == 200, r.text
    return [t["tag"] for t in r.json()["timeline"]]


def test_d15_access_report_view_is_not_on_the_case_workers_timeline_api_and_web(
    client: TestClient, vault: Vault, clock: FrozenClock, worker: ApiUser, officer: ApiUser
) -> None:
    case_id = open_team_case(vault, worker.user_id)
    web = web_login(vault, clock, team=TEAM)
    assert ORDINARY in _timeline_tags(client, worker, case_id)

    r = client.get(f"/api/v1/audit/cases/{case_id}/access-report", headers=officer.headers)
    assert r.status_code == 200, r.text

    # API: the oversight entry exists (on this case) but the worker's timeline leaves it out.
    tags = _timeline_tags(client, worker, case_id)
    assert ORDINARY in tags
    assert not [t for t in tags if t.startswith("audit:")], tags
    # Web: neither the label nor the code appears on the case page.
    page = web.client.get(f"/zaken/{case_id}")
    assert page.status_code == 200
    assert "Zaak bekeken" in page.text
    assert AUDIT_TAGS[OVERSIGHT] not in page.text
    assert OVERSIGHT not in page.text

    # The privacy officer reads no case timeline at all; their view of the case, the access report,
    # does show their own oversight.
    assert client.get(f"/api/v1/cases/{case_id}", headers=officer.headers).status_code in {403, 404}
    r = client.get(f"/api/v1/audit/cases/{case_id}/access-report", headers=officer.headers)
    assert r.status_code == 200, r.text
    assert OVERSIGHT in [a["action"] for a in r.json()["accesses"]]


def test_oversight_prefix_is_shown_to_privacy_officers_only() -> None:
    from vault.context import Context
    from vault.services.case_view import OVERSIGHT_PREFIX, sees_oversight

    assert OVERSIGHT.startswith(OVERSIGHT_PREFIX)
    assert str(AuditTag.AUDIT_BREAK_GLASS_REVIEWED).startswith(OVERSIGHT_PREFIX)
    for role in Role:
        ctx = Context(actor_id="x", role=str(role), access_point="test")
        assert sees_oversight(ctx) is (role is Role.PRIVACY_OFFICER), role
