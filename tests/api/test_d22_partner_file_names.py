"""D22: a partner never gets the uploader's file name (it often names a client): every download — API
and web — is named from the case reference (D23), the category, the version's date and a safe
extension. Staff get the original."""

from __future__ import annotations

from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.api.test_partner_copies import pdf_bytes
from tests.helpers import ApiUser, api_user, create_account, team_id_of
from tests.web.world import Person, web_login
from vault.context import Context, FrozenClock
from vault.domain import CaseKind, Category, OrgType, Role, reference_of
from vault.models import DocumentVersion
from vault.runtime import Vault
from vault.services.cases import open_case
from vault.services.file_names import safe_extension

TEAM = "Team Bestandsnamen"
ORIGINAL = "Verslag familie Kanarie-Jansen.pdf"
ORIGINAL_PARTS = ("verslag", "familie", "kanarie", "jansen")


def _person(vault: Vault, role: Role, **where: object) -> Person:
    username, user_id, org_id, secret = create_account(vault, role, **where)  # type: ignore[arg-type]
    return Person(username, user_id, secret, role, org_id)


@pytest.fixture
def shared(client: TestClient, vault: Vault, clock: FrozenClock) -> tuple[ApiUser, ApiUser, str, str, str]:
    """A worker's PDF with a telling file name, disclosed to a local team: (worker, partner, case,
    document, grant)."""
    worker = api_user(client, vault, clock, Role.MEDEWERKER, team=TEAM)
    partner = api_user(client, vault, clock, Role.PARTNER, org=("Lokaal team Bestand", OrgType.LOCAL_TEAM))
    ctx = Context(
        actor_id=worker.user_id,
        role="medewerker",
        access_point="test",
        second_factor_verified=True,
        clock=clock,
    )
    team_id = team_id_of(vault, TEAM)
    with vault.db.session() as session:
        case_id = open_case(session, vault, ctx, kind=CaseKind.REPORT, team_id=team_id).id
    r = client.post(
        f"/api/v1/cases/{case_id}/documents",
        params={"category": str(Category.SAFETY_CONDITIONS)},
        content=pdf_bytes(1),
        headers={
            **worker.headers,
            "X-Document-Title": quote("Voorwaarden"),
            "X-Document-Filename": quote(ORIGINAL),
            "Content-Type": "application/pdf",
        },
    )
    assert r.status_code == 201, r.text
    doc = r.json()["document_id"]
    r = client.post(
        f"/api/v1/cases/{case_id}/disclosures",
        headers=worker.headers,
        json={
            "org_id": partner.org_id,
            "purpose": "warme overdracht",
            "legal_basis": "wmo-4.1.1-2-help",
            "contact_name": "Marieke de Vries",  # D23
            "contact_phone": "030 123 45 67",
            "categories": ["safety_conditions"],
            "max_retrievals": 10,
        },
    )
    assert r.status_code == 201, r.text
    return worker, partner, case_id, doc, r.json()["id"]


def _neutral(vault: Vault, case_id: str, doc: str) -> str:
    with vault.db.session() as session:
        created = session.scalar(select(DocumentVersion.created_at).where(DocumentVersion.document_id == doc))
    assert created is not None
    day = created.astimezone(ZoneInfo("Europe/Amsterdam")).date().isoformat()
    return f"{reference_of(case_id)}_veiligheidsvoorwaarden_{day}.pdf"


def _assert_neutral(disposition: str, neutral: str) -> None:
    assert f'filename="{neutral}"' in disposition
    assert f"filename*=UTF-8''{neutral}" in disposition
    for part in ORIGINAL_PARTS:
        assert part not in disposition.lower()


def test_d22_partner_downloads_carry_a_neutral_name_staff_the_original(
    client: TestClient, vault: Vault, clock: FrozenClock, shared: tuple[ApiUser, ApiUser, str, str, str]
) -> None:
    worker, partner, case_id, doc, grant_id = shared
    neutral = _neutral(vault, case_id, doc)
    assert neutral.startswith("VT-")
    # API
    r = client.get(f"/api/v1/documents/{doc}/content", headers=partner.headers)
    assert r.status_code == 200, r.text
    _assert_neutral(r.headers["content-disposition"], neutral)
    r = client.get(f"/api/v1/documents/{doc}/content", headers=worker.headers)
    assert f"filename*=UTF-8''{quote(ORIGINAL, safe='')}" in r.headers["content-disposition"]
    # Web: the partner's inbox and its download link, then a staff member's download.
    web_partner = Person(*_account_of(vault, partner, Role.PARTNER))
    web_login(client, web_partner, clock)
    inbox = client.get("/partner")
    assert inbox.status_code == 200
    assert reference_of(case_id) in inbox.text
    assert f"<code>{doc[:8]}</code>" not in inbox.text  # a name people can quote, not a UUID
    for part in ORIGINAL_PARTS[1:]:
        assert part not in inbox.text.lower()
    r = client.get(f"/documenten/{doc}/inhoud", params={"verstrekking": grant_id})
    assert r.status_code == 200, r.text
    assert r.content.startswith(b"%PDF")
    _assert_neutral(r.headers["content-disposition"], neutral)
    client.cookies.clear()
    web_login(client, _person(vault, Role.MEDEWERKER, team=TEAM), clock)
    r = client.get(f"/documenten/{doc}/inhoud")
    assert r.status_code == 200, r.text
    assert f"filename*=UTF-8''{quote(ORIGINAL, safe='')}" in r.headers["content-disposition"]


def _account_of(vault: Vault, user: ApiUser, role: Role) -> tuple[str, str, str, Role, str | None]:
    from vault.models import User

    with vault.db.session() as session:
        row = session.get(User, user.user_id)
        assert row is not None
        return row.username, user.user_id, user.secret, role, user.org_id


@pytest.mark.parametrize(
    ("content_type", "name", "expected"),
    [
        ("application/pdf", "x.exe", "pdf"),
        ("image/jpeg; charset=binary", None, "jpg"),
        ("application/octet-stream", "Scan Jansen.JPEG", "jpg"),
        ("application/octet-stream", "brief.docx", "docx"),
        ("application/octet-stream", "factuur.pdf.exe", None),
        ("text/html", "pagina.html", None),
        ("application/octet-stream", "geen-extensie", None),
        (None, "a.svg", None),
    ],
)
def test_d22_the_extension_comes_from_a_short_allow_list(
    content_type: str | None, name: str | None, expected: str | None
) -> None:
    assert safe_extension(content_type, name) == expected
