"""D22, D8 (D3): the outside professional who asked advice reads the documents of their advice case
as an outsider — named neutrally by the gate and cleaned like a partner's copy: a PDF loses its
author, XMP, attachment and comments and carries its recipient; a kind that cannot be cleaned is
refused with a reason. Real API, real database, real PDFs."""

from __future__ import annotations

from urllib.parse import quote

from fastapi.testclient import TestClient

from tests.api.test_partner_copies import REPORTER, _pdf_that_talks_about_itself, _readable
from tests.helpers import ApiUser, api_user, team_id_of
from vault.context import Context, FrozenClock
from vault.domain import CaseKind, Category, OrgType, Role
from vault.runtime import Vault
from vault.services.cases import open_case

TEAM = "Team Advies"


def _advice_case_with(
    client: TestClient, vault: Vault, clock: FrozenClock, prof: ApiUser, body: bytes, filename: str
) -> str:
    """A case worker files ``body`` in the professional's advice case; the document's id."""
    worker = api_user(client, vault, clock, Role.MEDEWERKER, team=TEAM)
    ctx = Context(
        actor_id=worker.user_id,
        role="medewerker",
        access_point="test",
        second_factor_verified=True,
        clock=clock,
    )
    team_id = team_id_of(vault, TEAM)
    with vault.db.session() as session:
        case_id = open_case(
            session,
            vault,
            ctx,
            kind=CaseKind.ADVICE_PROFESSIONAL,
            team_id=team_id,
            owner_id=prof.user_id,
        ).id
    r = client.post(
        f"/api/v1/cases/{case_id}/documents",
        params={"category": str(Category.ADVICE)},
        content=body,
        headers={
            **worker.headers,
            "X-Document-Title": quote("Advies aan school"),
            "X-Document-Filename": quote(filename),
            "Content-Type": "application/octet-stream",
        },
    )
    assert r.status_code == 201, r.text
    document_id: str = r.json()["document_id"]
    return document_id


def test_d22_d8_the_professional_gets_staffs_pdf_cleaned_and_marked(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    prof = api_user(
        client, vault, clock, Role.PROFESSIONAL, org=("Basisschool De Adviesvraag", OrgType.SCHOOL)
    )
    original = _pdf_that_talks_about_itself()
    assert REPORTER.encode() in _readable(original)
    doc = _advice_case_with(client, vault, clock, prof, original, "adviesbrief-school.pdf")
    got = client.get(f"/api/v1/documents/{doc}/content", headers=prof.headers)
    assert got.status_code == 200, got.text
    assert "adviesbrief" not in got.headers["content-disposition"]  # named like a partner's copy
    readable = _readable(got.content)
    assert REPORTER.encode() not in readable, "author, XMP, attachment or comments reach the professional"
    assert b"Verstrekt aan Basisschool De Adviesvraag" in readable  # a leaked copy names its recipient
    assert b"Afspraken veiligheid" in readable  # the page itself stays


def test_d22_d8_a_kind_that_cannot_be_cleaned_is_refused_to_the_professional(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    prof = api_user(
        client, vault, clock, Role.PROFESSIONAL, org=("Huisartsenpraktijk Advies", OrgType.SCHOOL)
    )
    tiff = b"II*\x00\x08\x00\x00\x00" + f"Artist {REPORTER}".encode() + bytes(64)
    doc = _advice_case_with(client, vault, clock, prof, tiff, "foto.tif")
    got = client.get(f"/api/v1/documents/{doc}/content", headers=prof.headers)
    assert got.status_code == 400, got.text
    assert REPORTER not in got.text
    assert REPORTER.encode() not in got.content
