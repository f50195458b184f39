"""Issue 17, sharing: a confirmation after every upload (the form without script), share and revoke,
and a subject's statement (D14) shown under the document it answers. The audit log holds the upload,
statement and revocation entries."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from tests.web.pages import assert_accessible, assert_fits_a_phone
from tests.web.test_browser import login
from tests.web.world import World, _ctx, csrf_of, web_login
from vault.app import create_app
from vault.context import FrozenClock
from vault.domain import AuditTag
from vault.labels import NOTICES
from vault.models import AuditEntry
from vault.runtime import Vault
from vault.services.rights import add_statement
from vault.web.render import local_path, see_other


@pytest.fixture
def worker_client(vault: Vault, clock: FrozenClock, world: World) -> Iterator[TestClient]:
    with TestClient(create_app(vault)) as client:
        web_login(client, world.worker, clock)
        yield client


def _tags(vault: Vault, case_id: str) -> list[str]:
    with vault.db.session() as session:
        return list(session.scalars(select(AuditEntry.tag).where(AuditEntry.case_id == case_id)))


def test_upload_without_script_lands_on_the_case_page_with_its_confirmation(
    worker_client: TestClient, vault: Vault, world: World
) -> None:
    before = _tags(vault, world.case_id).count(str(AuditTag.DOSSIER_DOCUMENT_CREATED))
    page = worker_client.get(f"/zaken/{world.case_id}")
    answer = worker_client.post(
        f"/zaken/{world.case_id}/documenten",
        data={"csrf_token": csrf_of(page.text), "category": "report", "title": "Verslag huisbezoek"},
        files={"file": ("verslag.txt", b"Huisbezoek afgelegd.\n", "text/plain")},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert answer.headers["location"].endswith("melding=document-opgeslagen")
    shown = worker_client.get(answer.headers["location"])
    assert NOTICES["document-opgeslagen"] in shown.text
    assert "Verslag huisbezoek" in shown.text
    assert _tags(vault, world.case_id).count(str(AuditTag.DOSSIER_DOCUMENT_CREATED)) == before + 1


def test_revoke_lands_on_the_case_page_with_its_confirmation(
    worker_client: TestClient, vault: Vault, world: World
) -> None:
    path = f"/zaken/{world.case_id}/verstrekkingen/{world.grant_id}/intrekken"
    confirm = worker_client.get(path)
    answer = worker_client.post(path, data={"csrf_token": csrf_of(confirm.text)}, follow_redirects=False)
    assert answer.status_code == 303
    shown = worker_client.get(answer.headers["location"])
    assert NOTICES["verstrekking-ingetrokken"] in shown.text
    assert str(AuditTag.DISCLOSURE_GRANT_REVOKED) in _tags(vault, world.case_id)


def test_an_unknown_confirmation_key_shows_nothing(worker_client: TestClient, world: World) -> None:
    shown = worker_client.get(f"/zaken/{world.case_id}?melding=%3Cscript%3E")
    assert shown.status_code == 200
    assert 'class="notice"' not in shown.text
    assert "<script>" not in shown.text


@pytest.mark.browser
def test_d14_statement_is_shown_under_the_document_it_answers(
    page: Any, live_server: Any, world: World, vault: Vault, clock: FrozenClock
) -> None:
    add_statement(
        vault,
        _ctx(vault, world.worker),
        case_id=world.case_id,
        refers_to_document_id=world.withheld_doc,
        title="Reactie van moeder",
        filename="reactie.txt",
        content_type="text/plain",
        chunks=[b"Ik ben het niet eens met het verslag.\n"],
    )
    login(page, live_server.url, world.worker, clock)
    page.goto(f"{live_server.url}/zaken/{world.case_id}")
    statements = page.locator("ul.statements")
    assert statements.count() == 1
    assert "Reactie van moeder" in statements.inner_text()
    assert "Zienswijze van betrokkene" in statements.inner_text()
    # Under the answered document, in the same list item — not a group of its own.
    answered = page.locator("li", has=statements)
    assert answered.count() == 1
    assert "Gespreksverslag" in answered.inner_text()
    assert "Veiligheidsvoorwaarden" not in answered.inner_text()
    assert_accessible(page)
    assert_fits_a_phone(page)
    assert str(AuditTag.DOSSIER_DOCUMENT_CREATED) in _tags(vault, world.case_id)


def test_the_confirmation_key_goes_before_the_fragment_and_is_a_known_one() -> None:
    assert see_other("/zaken/x#melder", notice="opgeslagen").headers["location"] == (
        "/zaken/x?melding=opgeslagen#melder"
    )
    assert see_other("/a?b=1", notice="opgeslagen").headers["location"] == "/a?b=1&melding=opgeslagen"
    assert see_other("//elders.example/", notice="opgeslagen").headers["location"] == "/?melding=opgeslagen"
    with pytest.raises(ValueError, match="unknown notice"):
        see_other("/", notice="<script>")


@pytest.mark.parametrize(
    "hostile",
    [
        "//elders.example/",
        "/\t/elders.example/",
        "/\n/elders.example",
        "/\\elders.example",
        "https://elders.example/",
    ],
)
def test_a_redirect_target_from_a_request_never_leads_off_the_site(hostile: str) -> None:
    assert local_path(hostile) == "/"
    assert local_path("/zaken/x?b=1#melder") == "/zaken/x?b=1#melder"


@given(st.text(max_size=40))
def test_whatever_is_asked_the_redirect_stays_on_this_origin(value: str) -> None:
    """Read as a browser does (tabs and line breaks dropped, ``\\`` as ``/``), the target is a path of
    this origin."""
    target = local_path(value)
    as_read = target.translate({9: None, 10: None, 13: None}).replace("\\", "/")
    parts = urlsplit(urljoin("https://vault.example/zaken/", as_read))
    assert (parts.scheme, parts.netloc) == ("https", "vault.example")
    assert target == "/" or target == value
