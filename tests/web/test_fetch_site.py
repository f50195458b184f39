"""Pages with a session are never a resource of another origin's page (fetch metadata).

The session cookie is SameSite=Strict, but SameSite ignores ports and subdomains: a page on another
port of this host is "same-site", so ``<img src="/fg/bewijs/7">`` there would carry the privacy
officer's cookie and make the vault sign a checkpoint, ask the witnesses and write an audit entry in
the officer's name; an image of ``/documenten/{id}/inhoud`` would make a worker read a document, in
the log as theirs (D16, D21: the log must say what the person did). Browsers say where a request
comes from (``Sec-Fetch-Site``, ``-Mode``, ``-Dest``): anything but this origin or the person
themselves is refused, except a link another site offers (a navigation), which opens an ordinary
page but never one whose GET does work.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.helpers import ctx_for
from tests.web.world import World, web_login
from vault.app import create_app
from vault.audit import record
from vault.context import FrozenClock
from vault.domain import AuditTag, Decision, Role
from vault.models import AuditEntry
from vault.runtime import Vault

EMBEDDED = {"Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "image"}
FETCHED = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "cors", "Sec-Fetch-Dest": "empty"}
LINKED = {"Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}
OWN = {"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}
TYPED = {"Sec-Fetch-Site": "none", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}


@pytest.fixture
def officer(vault: Vault, clock: FrozenClock, world: World) -> Iterator[TestClient]:
    with TestClient(create_app(vault)) as client:
        web_login(client, world.officer, clock)
        yield client


def _entries(vault: Vault) -> int:
    with vault.db.session() as session:
        return session.scalar(select(func.count()).select_from(AuditEntry)) or 0


def _an_entry(vault: Vault, world: World) -> int:
    ctx = ctx_for(vault, world.outsider.user_id, Role.MEDEWERKER)
    with vault.db.session() as session:
        return record(
            session, ctx, AuditTag.DOSSIER_ACCESS_DENIED, case_id=world.case_id, decision=Decision.DENY
        )


@pytest.mark.parametrize("headers", [EMBEDDED, FETCHED, LINKED], ids=["embedded", "fetched", "linked"])
def test_d16_a_proof_bundle_is_made_only_when_asked_from_the_vaults_own_pages(
    officer: TestClient, vault: Vault, world: World, headers: dict[str, str]
) -> None:
    seq = _an_entry(vault, world)
    before = _entries(vault)
    for path in (f"/fg/bewijs/{seq}", f"/fg/toegang/{world.case_id}/bewijs"):
        refused = officer.get(path, headers=headers)
        assert refused.status_code == 403, path
        assert "Open deze pagina vanuit de kluis" in refused.text
        assert "noodtoegang" not in refused.text.lower()  # no break-glass offered for this refusal
    assert _entries(vault) == before  # nothing signed, asked or logged in the officer's name
    for own in (OWN, TYPED, {}):  # this site's page, the person's own address bar, no browser at all
        assert officer.get(f"/fg/bewijs/{seq}", headers=own).status_code == 200


@pytest.mark.parametrize("headers", [EMBEDDED, FETCHED], ids=["embedded", "fetched"])
def test_d16_d21_a_page_with_case_data_is_no_resource_of_another_sites_page(
    vault: Vault, clock: FrozenClock, world: World, headers: dict[str, str]
) -> None:
    with TestClient(create_app(vault)) as client:
        web_login(client, world.worker, clock)
        before = _entries(vault)
        for path in (f"/zaken/{world.case_id}", f"/documenten/{world.granted_doc}/inhoud"):
            refused = client.get(path, headers=headers)
            assert refused.status_code == 403, path
            assert "Open deze pagina vanuit de kluis" in refused.text
        assert _entries(vault) == before  # nothing read in the worker's name
        assert client.get(f"/zaken/{world.case_id}", headers=LINKED).status_code == 200  # a link: opens
        assert client.get(f"/documenten/{world.granted_doc}/inhoud", headers=OWN).status_code == 200
