"""D22 and docs/security.md: a download is named and typed by what its bytes are, not by the labels
an uploader gave it.

Staff: the original stem, an extension only from the allow-list and only when the bytes agree; else
``.bin`` and ``application/octet-stream`` (anyone may attach a file to the public form: an ``.html``
or ``.hta`` must never be saved on a Veilig Thuis workstation under a name that opens it). Partners:
the copy's media type and the neutral name's extension come from the kind the bytes decided."""

from __future__ import annotations

import io
import zipfile
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.api.test_partner_copies import marks_in, pdf_bytes
from tests.helpers import ApiUser, api_user, team_id_of
from tests.web.world import World, build_world, web_login
from vault.app import create_app
from vault.context import Context, FrozenClock
from vault.domain import CaseKind, Category, OrgType, Role
from vault.models import Document
from vault.runtime import Vault
from vault.services import file_names
from vault.services.cases import open_case
from vault.services.pow import solve

TEAM = "Team Namen Naar Inhoud"
ORG = "Wijkteam Namen-Oost"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PHISHING_PAGE = (
    b"<html><body><h1>Dossierkluis: sessie verlopen</h1><form action='https://example.invalid/x'>"
    b"<input name=w><input name=totp></form><script>/* runs from file:// */</script></body></html>"
)
ALLOWED = {"pdf", "docx", "odt", "jpg", "png", "txt", "bin"}


@pytest.fixture
def world(vault: Vault) -> World:
    return build_world(vault)


def _case(vault: Vault, worker: ApiUser) -> str:
    ctx = Context(
        actor_id=worker.user_id, role="medewerker", access_point="test", second_factor_verified=True,
        clock=vault.clock,
    )  # fmt: skip
    team_id = team_id_of(vault, TEAM)
    with vault.db.session() as session:
        return open_case(session, vault, ctx, kind=CaseKind.REPORT, team_id=team_id).id


def _put(
    client: TestClient, user: ApiUser, case_id: str, body: bytes, *, content_type: str, filename: str,
    category: Category = Category.REPORT,
) -> str:  # fmt: skip
    r = client.post(
        f"/api/v1/cases/{case_id}/documents",
        params={"category": str(category)},
        content=body,
        headers={
            **user.headers,
            "X-Document-Title": quote("Verslag"),
            "X-Document-Filename": quote(filename),
            "Content-Type": content_type,
        },
    )
    assert r.status_code == 201, r.text
    return str(r.json()["document_id"])


def _name(disposition: str) -> str:
    return disposition.split('filename="', 1)[1].split('"', 1)[0]


@pytest.mark.parametrize(
    "sent_as", ["Foto blauwe plekken.jpg.html", "Foto blauwe plekken.jpg.hta", "Foto.jpg.exe. "]
)
def test_d22_an_anonymous_attachment_is_never_handed_to_staff_as_a_web_page_or_program(
    vault: Vault, clock: FrozenClock, world: World, sent_as: str
) -> None:
    with TestClient(create_app(vault)) as client:
        challenge = client.get("/formulier/uitdaging").json()
        body = {
            "uitdaging": challenge["challenge"],
            "teller": solve(challenge["challenge"], challenge["bits"]),
            "website": "",
            "naam": "Een buur",
            "contact": "0612345678",
            "relatie": "buren",
            "betrokkene_rol": "kind",
            "zorgen": "Ik hoor elke avond geschreeuw, zie de foto's.",
        }
        r = client.post(
            "/melden/burger", data=body, files={"bijlage": (sent_as, PHISHING_PAGE, "image/jpeg")}
        )
        assert r.status_code == 201, r.text
        assert r.json()["attachment"] is True, r.text
        with vault.db.session() as session:
            [doc] = session.scalars(
                select(Document.id).where(Document.category == str(Category.CORRESPONDENCE))
            ).all()
        web_login(client, world.worker, clock)
        r = client.get(f"/documenten/{doc}/inhoud")
        assert r.status_code == 200, r.text[:300]
        assert r.content == PHISHING_PAGE  # the evidence is kept whole
    name = _name(r.headers["content-disposition"])
    assert name.rsplit(".", 1)[-1].lower() in ALLOWED, name
    assert name.startswith("Foto")  # the worker still recognises it
    assert r.headers["content-type"] == "application/octet-stream"  # not the sender's image/jpeg


def test_d22_staff_keep_an_allowed_name_only_when_the_bytes_agree(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    worker = api_user(client, vault, clock, Role.MEDEWERKER, team=TEAM)
    case_id = _case(vault, worker)
    pdf = _put(client, worker, case_id, pdf_bytes(1), content_type="text/plain", filename="Verslag.pdf")
    png_as_jpg = _put(client, worker, case_id, PNG, content_type="image/jpeg", filename="Foto.JPG")
    r = client.get(f"/api/v1/documents/{pdf}/content", headers=worker.headers)
    assert r.status_code == 200, r.text
    assert _name(r.headers["content-disposition"]) == "Verslag.pdf"
    assert r.headers["content-type"] == "application/pdf"  # the bytes' type, not the label's text/plain
    r = client.get(f"/api/v1/documents/{png_as_jpg}/content", headers=worker.headers)
    assert r.status_code == 200, r.text
    assert _name(r.headers["content-disposition"]) == "Foto.JPG.bin"
    assert r.headers["content-type"] == "application/octet-stream"


@pytest.mark.parametrize(
    ("original", "kind", "expected"),
    [
        ("brief.pdf", "pdf", ("brief.pdf", "application/pdf")),
        ("Scan Jansen.JPEG", "jpeg", ("Scan Jansen.JPEG", "image/jpeg")),
        ("notitie.txt", None, ("notitie.txt", "text/plain; charset=utf-8")),
        ("notitie.txt", "refuse", ("notitie.txt.bin", "application/octet-stream")),
        ("factuur.pdf.exe", "refuse", ("factuur.pdf.exe.bin", "application/octet-stream")),
        ("pagina.html", None, ("pagina.html.bin", "application/octet-stream")),
        ("foto.png", "pdf", ("foto.png.bin", "application/octet-stream")),
        ("geen-extensie", "pdf", ("geen-extensie.bin", "application/octet-stream")),
    ],
)
def test_d22_staff_download_names_from_the_allow_list_and_the_kind(
    original: str, kind: str | None, expected: tuple[str, str]
) -> None:
    assert file_names.staff_download(original, kind) == expected


@pytest.fixture
def shared_pdf_with_lying_labels(client: TestClient, vault: Vault, clock: FrozenClock) -> tuple[ApiUser, str]:
    worker = api_user(client, vault, clock, Role.MEDEWERKER, team=TEAM)
    partner = api_user(client, vault, clock, Role.PARTNER, org=(ORG, OrgType.LOCAL_TEAM))
    case_id = _case(vault, worker)
    # A real PDF whose labels (a scanner's upload tool, a renamed file) say text.
    doc = _put(
        client, worker, case_id, pdf_bytes(), content_type="text/plain", filename="scan.txt",
        category=Category.SAFETY_CONDITIONS,
    )  # fmt: skip
    r = client.post(
        f"/api/v1/cases/{case_id}/disclosures",
        headers=worker.headers,
        json={
            "org_id": partner.org_id, "purpose": "warme overdracht", "legal_basis": "wmo-4.1.1-2-help",
            "categories": ["safety_conditions"], "max_retrievals": 1,
            "contact_name": "Sanne de Vries", "contact_phone": "030 123 45 67",
        },
    )  # fmt: skip
    assert r.status_code == 201, r.text
    return partner, doc


def test_d22_a_partners_copy_is_named_and_typed_by_the_bytes_that_decided_it(
    client: TestClient, shared_pdf_with_lying_labels: tuple[ApiUser, str]
) -> None:
    partner, doc = shared_pdf_with_lying_labels
    r = client.get(f"/api/v1/documents/{doc}/content", headers=partner.headers)
    assert r.status_code == 200, r.text
    _shown, mark, _pages = marks_in(r.content)  # it is the partner's marked PDF
    assert mark is not None
    assert mark.startswith("Verstrekt aan")
    assert r.headers["content-type"] == "application/pdf"
    name = _name(r.headers["content-disposition"])
    assert name.startswith("VT-"), name
    assert name.endswith(".pdf"), name
    assert "_veiligheidsvoorwaarden_" in name


def _package(main_type: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as package:
        package.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            f'<Override PartName="/main.xml" ContentType="{main_type}"/></Types>',
        )
    return out.getvalue()


@pytest.mark.parametrize(
    ("kind", "main", "expected"),
    [
        ("pdf", None, ("application/pdf", "pdf")),
        ("jpeg", None, ("image/jpeg", "jpg")),
        ("png", None, ("image/png", "png")),
        ("jpeg2000", None, ("image/jp2", "jp2")),
        (None, None, ("text/plain; charset=utf-8", "txt")),
        (
            "office",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
            ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
        ),
        (
            "office",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
            ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"),
        ),
        ("office", "application/xml", ("application/octet-stream", "bin")),
    ],
)
def test_d22_a_partners_copy_type_comes_from_its_kind(
    kind: str | None, main: str | None, expected: tuple[str, str]
) -> None:
    assert file_names.copy_type(kind, _package(main) if main else b"") == expected
