"""Issue 18, partner part: what a partner sees of a disclosure (D22, D23) and the copy it gets.

A staff member shares with a partner-facing title and a contact; the partner's inbox shows the case
reference, that title (never an internal title), the purpose, validity, retrievals left and the
contact; the title is sealed under the case key and never written to the audit log. A partner's PDF
carries its recipient on every page and in its metadata; staff get the stored bytes; plain text is
sent unchanged, a kind the vault cannot clean is refused. The retrieval history lists the
organisation's own retrievals only.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from urllib.parse import quote

import pikepdf
import pytest
from fastapi.testclient import TestClient
from fpdf import FPDF
from sqlalchemy import select, update

from tests.helpers import ApiUser, api_user, team_id_of
from tests.services.test_image_copy import MAKER as REPORTER_PHOTO
from tests.services.test_image_copy import jpeg_with_everything
from tests.services.test_jpeg2000_copy import GPS, jpeg2000_with_place
from tests.services.test_office_copy import DOCX
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, CaseKind, Category, OrgType, Role, reference_of
from vault.errors import Forbidden
from vault.labels import AMSTERDAM
from vault.models import AuditEntry, DocumentVersion, Grant, User
from vault.runtime import Vault
from vault.services import destruction, partner_view, watermark
from vault.services.cases import open_case
from vault.services.image_copy import strip_jpeg
from vault.services.jpeg2000_copy import strip_jpeg2000
from vault.services.office_copy import strip_office

TEAM = "Team Partnerkopie"
ORG = "Wijkteam Kopie-Oost"
INTERNAL_TITLE = "Gesprek met buurvrouw Kanarie"
PARTNER_TITLE = "Afspraken veiligheid, overdracht week 49"
TITLE_WORDS = ("Afspraken", "overdracht week 49")


def pdf_bytes(pages: int = 3) -> bytes:
    pdf = FPDF()
    pdf.set_creation_date(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    pdf.set_font("Helvetica", size=12)
    for n in range(pages):
        pdf.add_page()
        pdf.cell(0, 10, f"Pagina {n + 1} van het verslag")
    return bytes(pdf.output())


def marks_in(data: bytes) -> tuple[list[str], str | None, int]:
    """The text shown by every page's content streams, the document information's mark, page count."""
    with pikepdf.open(io.BytesIO(data)) as pdf:
        shown: list[str] = []
        for page in pdf.pages:
            text = "".join(
                bytes(instruction.operands[0]).decode("cp1252")
                for instruction in pikepdf.parse_content_stream(page)
                if isinstance(instruction, pikepdf.ContentStreamInstruction)
                and instruction.operator == pikepdf.Operator("Tj")
            )
            shown.append(text)
        info = pdf.docinfo.get("/VerstrektAan")
        return shown, str(info) if info is not None else None, len(pdf.pages)


@pytest.fixture
def shared(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> tuple[ApiUser, ApiUser, str, dict[str, str], str]:
    """A worker's PDF and text file, disclosed with a partner-facing title and a contact."""
    worker = api_user(client, vault, clock, Role.MEDEWERKER, team=TEAM)
    partner = api_user(client, vault, clock, Role.PARTNER, org=(ORG, OrgType.LOCAL_TEAM))
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
    docs: dict[str, str] = {}
    for kind, body, content_type in (
        ("pdf", pdf_bytes(), "application/pdf"),
        ("txt", b"platte tekst", "text/plain"),
    ):
        r = client.post(
            f"/api/v1/cases/{case_id}/documents",
            params={"category": str(Category.SAFETY_CONDITIONS)},
            content=body,
            headers={
                **worker.headers,
                "X-Document-Title": quote(INTERNAL_TITLE),
                "X-Document-Filename": quote(f"verslag-kanarie.{kind}"),
                "Content-Type": content_type,
            },
        )
        assert r.status_code == 201, r.text
        docs[kind] = r.json()["document_id"]
    r = client.post(
        f"/api/v1/cases/{case_id}/disclosures",
        headers=worker.headers,
        json={
            "org_id": partner.org_id,
            "purpose": "warme overdracht",
            "legal_basis": "wmo-4.1.1-2-help",
            "categories": ["safety_conditions"],
            "max_retrievals": 10,
            "partner_title": PARTNER_TITLE,
            "contact_name": "Sanne de Vries",
            "contact_phone": "030 123 45 67",
        },
    )
    assert r.status_code == 201, r.text
    return worker, partner, case_id, docs, r.json()["id"]


def test_d22_d23_the_inbox_shows_reference_title_and_contact_never_internal_titles(
    client: TestClient, vault: Vault, shared: tuple[ApiUser, ApiUser, str, dict[str, str], str]
) -> None:
    _worker, partner, case_id, _docs, grant_id = shared
    r = client.get("/api/v1/partner/inbox", headers=partner.headers)
    assert r.status_code == 200, r.text
    [item] = r.json()
    assert item["reference"] == reference_of(case_id)
    assert item["title"] == PARTNER_TITLE
    assert item["contact_name"] == "Sanne de Vries"
    assert item["contact_phone"] == "030 123 45 67"
    assert item["retrievals_left"] == 10
    assert "Kanarie" not in r.text
    assert "kanarie" not in r.text
    # D22: the typed title is sealed under the case key and never written to the audit log.
    with vault.db.session() as session:
        grant = session.get(Grant, grant_id)
        assert grant is not None
        assert grant.partner_title_enc is not None
        assert PARTNER_TITLE.encode() not in grant.partner_title_enc
        details = " ".join(session.scalars(select(AuditEntry.details)).all())
    for word in TITLE_WORDS:
        assert word not in details


def test_d22_a_contact_phone_that_is_not_a_number_is_refused(
    client: TestClient, shared: tuple[ApiUser, ApiUser, str, dict[str, str], str]
) -> None:
    worker, partner, case_id, _docs, _grant = shared
    r = client.post(
        f"/api/v1/cases/{case_id}/disclosures",
        headers=worker.headers,
        json={
            "org_id": partner.org_id,
            "purpose": "warme overdracht",
            "legal_basis": "wmo-4.1.1-2-help",
            "categories": ["safety_conditions"],
            "contact_name": "Sanne de Vries",
            "contact_phone": "bel maar <script>",
        },
    )
    assert r.status_code in {400, 422}, r.text


def test_a_partners_pdf_carries_its_recipient_staff_get_the_stored_bytes(
    client: TestClient,
    vault: Vault,
    clock: FrozenClock,
    shared: tuple[ApiUser, ApiUser, str, dict[str, str], str],
) -> None:
    worker, partner, case_id, docs, grant_id = shared
    expected = watermark.mark_text(ORG, clock.now(), reference_of(case_id))
    assert ORG in expected
    assert reference_of(case_id) in expected
    assert clock.now().astimezone(AMSTERDAM).strftime("%d-%m-%Y") in expected
    r = client.get(
        f"/api/v1/documents/{docs['pdf']}/content", params={"grant_id": grant_id}, headers=partner.headers
    )
    assert r.status_code == 200, r.text
    shown, info, pages = marks_in(r.content)
    assert pages == 3
    assert all(expected in text for text in shown), shown
    assert info == expected
    # Staff: the stored bytes, no mark.
    r = client.get(f"/api/v1/documents/{docs['pdf']}/content", headers=worker.headers)
    assert r.status_code == 200
    assert r.content == pdf_bytes()
    # Another type goes to the partner unchanged.
    r = client.get(
        f"/api/v1/documents/{docs['txt']}/content", params={"grant_id": grant_id}, headers=partner.headers
    )
    assert r.status_code == 200
    assert r.content == b"platte tekst"


def test_the_mark_survives_inherited_resources_and_odd_page_boxes() -> None:
    """A page whose resources come from the page tree and whose box does not start at 0,0 still gets
    the line (the font is added to its own resources, the text placed inside its box)."""
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(300, 400))
    pdf.Root.Pages.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary())
    pdf.pages[0].obj.MediaBox = pikepdf.Array([100, 100, 400, 500])
    if "/Resources" in pdf.pages[0].obj:
        del pdf.pages[0].obj["/Resources"]
    out = io.BytesIO()
    pdf.save(out)
    text = watermark.mark_text(
        "Org & Co (test)", datetime(2026, 12, 4, 12, 0, tzinfo=AMSTERDAM), "VT-0000-0000"
    )
    marked = watermark.mark_pdf(out.getvalue(), text)
    shown, info, _ = marks_in(marked)
    assert shown == [text]
    assert info == text
    with pikepdf.open(io.BytesIO(marked)) as again:
        assert "/VTWatermerk" in again.pages[0].obj.Resources.Font


def test_a_password_protected_or_oversized_pdf_is_refused_to_a_partner(
    vault: Vault, clock: FrozenClock, shared: tuple[ApiUser, ApiUser, str, dict[str, str], str]
) -> None:
    from vault.errors import InvalidInput

    locked = io.BytesIO()
    with pikepdf.open(io.BytesIO(pdf_bytes(1))) as pdf:
        pdf.save(locked, encryption=pikepdf.Encryption(user="geheim", owner="geheim"))
    with pytest.raises(InvalidInput):
        watermark.mark_pdf(locked.getvalue(), "x")
    with pytest.raises(InvalidInput, match="cannot be opened"):  # D22: never sent as it is, unmarked
        watermark.mark_pdf(b"%PDF-1.7\n" + b"\x00\xff" * 64, "x")
    with pytest.raises(InvalidInput):
        watermark._collect(iter([b"%PDF" + b"0" * 10, b"0" * 10]), 16)


def test_the_history_lists_the_organisations_retrievals_and_is_audited(
    client: TestClient,
    vault: Vault,
    clock: FrozenClock,
    shared: tuple[ApiUser, ApiUser, str, dict[str, str], str],
) -> None:
    worker, partner, case_id, docs, grant_id = shared
    client.get(
        f"/api/v1/documents/{docs['txt']}/content", params={"grant_id": grant_id}, headers=partner.headers
    )
    client.get(f"/api/v1/documents/{docs['txt']}/content", headers=worker.headers)  # staff: not theirs
    r = client.get("/api/v1/partner/retrievals", headers=partner.headers)
    assert r.status_code == 200, r.text
    [entry] = r.json()
    assert entry["reference"] == reference_of(case_id)
    assert entry["title"] == PARTNER_TITLE
    assert entry["category"] == "safety_conditions"
    with vault.db.session() as session:
        user = session.get(User, partner.user_id)
        assert user is not None
        assert entry["user"] == user.username  # a name, not an id
    assert partner.user_id not in r.text
    assert client.get("/api/v1/partner/retrievals", headers=worker.headers).status_code == 403
    with vault.db.session() as session:
        tags = session.scalars(select(AuditEntry.tag).where(AuditEntry.actor_id == partner.user_id)).all()
    assert str(AuditTag.DISCLOSURE_HISTORY_READ) in tags


def test_d22_a_revoked_disclosure_stays_in_the_history_without_its_title(
    client: TestClient, shared: tuple[ApiUser, ApiUser, str, dict[str, str], str]
) -> None:
    """The organisation keeps the record of what it retrieved (reference, category, when), but the title
    staff typed for it is no longer shown once the disclosure is revoked: a disclosure sent to the wrong
    partner stops disclosing."""
    worker, partner, case_id, docs, grant_id = shared
    client.get(
        f"/api/v1/documents/{docs['txt']}/content", params={"grant_id": grant_id}, headers=partner.headers
    )
    r = client.post(f"/api/v1/disclosures/{grant_id}/revoke", headers=worker.headers)
    assert r.status_code == 200, r.text
    r = client.get("/api/v1/partner/retrievals", headers=partner.headers)
    assert r.status_code == 200, r.text
    [entry] = r.json()
    assert entry["reference"] == reference_of(case_id)
    assert entry["category"] == "safety_conditions"
    assert entry["title"] is None
    for word in TITLE_WORDS:
        assert word not in r.text


def test_d11_d22_a_destroyed_cases_disclosure_leaves_the_inbox_and_stays_in_the_history(
    client: TestClient, vault: Vault, shared: tuple[ApiUser, ApiUser, str, dict[str, str], str]
) -> None:
    """The partner keeps the record of what it retrieved (reference, category, when); the disclosure
    itself, its purpose and its contact are gone with the case."""
    _worker, partner, case_id, docs, grant_id = shared
    client.get(
        f"/api/v1/documents/{docs['txt']}/content", params={"grant_id": grant_id}, headers=partner.headers
    )
    operator = Context(actor_id="os:tester", role="operator", access_point="cli", clock=vault.clock)
    destruction.destroy_case(vault, operator, case_id, reason="retention_expired")
    r = client.get("/api/v1/partner/inbox", headers=partner.headers)
    assert (r.status_code, r.json()) == (200, [])
    r = client.get("/api/v1/partner/retrievals", headers=partner.headers)
    assert r.status_code == 200, r.text
    [entry] = r.json()
    assert entry["reference"] == reference_of(case_id)
    assert (entry["category"], entry["categories"]) == ("safety_conditions", ["safety_conditions"])
    assert entry["title"] is None
    assert entry["disclosed_at"] is not None
    for typed in (*TITLE_WORDS, "warme overdracht", "Sanne de Vries", "030 123 45 67"):
        assert typed not in r.text


def test_d16_a_refused_partner_listing_is_audited_with_its_rule(
    client: TestClient, vault: Vault, shared: tuple[ApiUser, ApiUser, str, dict[str, str], str]
) -> None:
    worker, _partner, _case_id, _docs, _grant_id = shared
    assert client.get("/api/v1/partner/inbox", headers=worker.headers).status_code == 403
    assert client.get("/api/v1/partner/retrievals", headers=worker.headers).status_code == 403
    with vault.db.session() as session:
        denied = session.scalars(
            select(AuditEntry)
            .where(
                AuditEntry.tag == str(AuditTag.DOSSIER_ACCESS_DENIED), AuditEntry.actor_id == worker.user_id
            )
            .order_by(AuditEntry.seq)
        ).all()
    inbox, history = str(AuditTag.DISCLOSURE_INBOX_LISTED), str(AuditTag.DISCLOSURE_HISTORY_READ)
    assert [(e.decision, e.rule, e.case_id, e.object_id) for e in denied] == [
        ("deny", "list-partner-only", None, inbox),
        ("deny", "list-partner-only", None, history),
    ]
    assert [json.loads(e.details) for e in denied] == [{"attempted": inbox}, {"attempted": history}]


def test_d17_a_partner_without_a_verified_second_factor_is_refused_and_that_is_audited(
    vault: Vault, clock: FrozenClock, shared: tuple[ApiUser, ApiUser, str, dict[str, str], str]
) -> None:
    _worker, partner, _case_id, _docs, _grant_id = shared
    unverified = Context(
        actor_id=partner.user_id, role="partner", access_point="test", org_id=partner.org_id, clock=clock
    )
    with pytest.raises(Forbidden) as refused:
        partner_view.partner_inbox(vault, unverified)
    assert refused.value.rule == "d17-second-factor"
    with vault.db.session() as session:
        [entry] = session.scalars(
            select(AuditEntry).where(
                AuditEntry.tag == str(AuditTag.DOSSIER_ACCESS_DENIED), AuditEntry.actor_id == partner.user_id
            )
        ).all()
    assert (entry.rule, entry.case_id, entry.object_id) == (
        "d17-second-factor",
        None,
        str(AuditTag.DISCLOSURE_INBOX_LISTED),
    )


REPORTER = "Zwaantje Markeer"


def _upload(
    client: TestClient,
    worker: ApiUser,
    case_id: str,
    body: bytes,
    document_id: str | None = None,
    *,
    filename: str = "afspraken.txt",
    content_type: str = "text/plain",
) -> str:
    r = client.post(
        f"/api/v1/cases/{case_id}/documents",
        params={
            "category": str(Category.SAFETY_CONDITIONS),
            **({"document_id": document_id} if document_id else {}),
        },
        content=body,
        headers={
            **worker.headers,
            "X-Document-Title": quote("Veiligheidsafspraken"),
            "X-Document-Filename": quote(filename),
            "Content-Type": content_type,
        },
    )
    assert r.status_code == 201, r.text
    return str(r.json()["document_id"])


def test_d8_a_partner_reads_the_latest_version_only_never_the_one_redacted_before_sharing(
    client: TestClient,
    vault: Vault,
    clock: FrozenClock,
    shared: tuple[ApiUser, ApiUser, str, dict[str, str], str],
) -> None:
    """A worker redacts the reporter's name by uploading a new version, then shares the document. The
    partner gets that version; asking for the first (``?version=1``) is a 404, audited as a denial."""
    worker, partner, case_id, _docs, grant_id = shared
    clock.advance(seconds=30)  # added to the shared category after the disclosure (D10: its newest version)
    doc = _upload(
        client, worker, case_id, f"Melding door buurvrouw {REPORTER}: vader slaapt elders.".encode()
    )
    clock.advance(seconds=30)
    _upload(client, worker, case_id, b"Afspraken: vader slaapt elders.", document_id=doc)
    latest = client.get(
        f"/api/v1/documents/{doc}/content", params={"grant_id": grant_id}, headers=partner.headers
    )
    assert latest.status_code == 200, latest.text
    assert latest.content == b"Afspraken: vader slaapt elders."
    for version in ("2", "1", "3"):
        r = client.get(
            f"/api/v1/documents/{doc}/content",
            params={"grant_id": grant_id, "version": version},
            headers=partner.headers,
        )
        if version == "2":  # the latest, named: the same read
            assert r.status_code == 200, r.text
            continue
        assert r.status_code == 404, r.text
        assert REPORTER not in r.text
    with vault.db.session() as session:
        denied = session.scalars(
            select(AuditEntry).where(AuditEntry.object_id == doc, AuditEntry.rule == "d8-latest-version-only")
        ).all()
    assert [e.tag for e in denied] == [str(AuditTag.DOSSIER_ACCESS_DENIED)] * 2
    assert all(e.actor_id == partner.user_id and e.case_id == case_id for e in denied)
    # Staff still read every version (the history is theirs).
    first = client.get(f"/api/v1/documents/{doc}/content", params={"version": "1"}, headers=worker.headers)
    assert first.status_code == 200
    assert REPORTER.encode() in first.content


def _pdf_that_talks_about_itself() -> bytes:
    """A PDF whose title, author, keywords, XMP, attachment and comment all name the reporter."""
    pdf = FPDF()
    pdf.set_title(f"Gesprek met buurvrouw {REPORTER} (melder)")
    pdf.set_author(REPORTER)
    pdf.set_keywords(f"melder {REPORTER}")
    pdf.set_font("Helvetica", size=12)
    pdf.add_page()
    pdf.cell(0, 10, "Afspraken veiligheid")
    with pikepdf.open(io.BytesIO(bytes(pdf.output()))) as doc:
        with doc.open_metadata() as meta:
            meta["dc:creator"] = [REPORTER]
        attachment = pikepdf.AttachedFileSpec(doc, f"Origineel van {REPORTER}".encode(), description=REPORTER)
        doc.attachments["origineel.txt"] = attachment
        comment = pikepdf.Dictionary(
            Type=pikepdf.Name.Annot,
            Subtype=pikepdf.Name.Text,
            Rect=[10, 10, 30, 30],
            T=pikepdf.String(REPORTER),
            Contents=pikepdf.String(f"navragen bij {REPORTER}"),
        )
        doc.pages[0].obj.Annots = doc.make_indirect(pikepdf.Array([doc.make_indirect(comment)]))
        out = io.BytesIO()
        doc.save(out)
        return out.getvalue()


def _readable(data: bytes) -> bytes:
    """Every object of a PDF, streams decoded: what anyone who opens the file can read from it."""
    with pikepdf.open(io.BytesIO(data)) as pdf:
        out = io.BytesIO()
        pdf.save(
            out,
            qdf=True,
            object_stream_mode=pikepdf.ObjectStreamMode.disable,
            stream_decode_level=pikepdf.StreamDecodeLevel.all,
            compress_streams=False,  # an embedded file left in would otherwise be compressed anew
        )
        return out.getvalue()


def test_d22_a_partners_pdf_keeps_its_pages_and_nothing_it_says_about_itself(
    client: TestClient,
    vault: Vault,
    clock: FrozenClock,
    shared: tuple[ApiUser, ApiUser, str, dict[str, str], str],
) -> None:
    worker, partner, case_id, _docs, grant_id = shared
    original = _pdf_that_talks_about_itself()
    assert REPORTER.encode() in _readable(original)
    doc = _upload(client, worker, case_id, original, filename="afspraken.pdf", content_type="application/pdf")
    copy = client.get(
        f"/api/v1/documents/{doc}/content", params={"grant_id": grant_id}, headers=partner.headers
    )
    assert copy.status_code == 200, copy.text
    assert REPORTER.encode() not in _readable(copy.content)
    shown, info, pages = marks_in(copy.content)
    assert pages == 1
    assert "Afspraken veiligheid" in shown[0]
    assert info == watermark.mark_text(ORG, clock.now(), reference_of(case_id))
    with pikepdf.open(io.BytesIO(copy.content)) as pdf:
        assert set(pdf.docinfo.keys()) == {"/Subject", "/VerstrektAan"}
        assert len(pdf.attachments) == 0
        assert "/Metadata" not in pdf.Root
    # Staff keep the stored bytes, metadata and all.
    staff = client.get(f"/api/v1/documents/{doc}/content", headers=worker.headers)
    assert staff.content == original


def test_d8_d22_a_partners_photo_loses_its_place_and_maker_a_heic_is_refused_with_the_reason(
    client: TestClient,
    vault: Vault,
    shared: tuple[ApiUser, ApiUser, str, dict[str, str], str],
) -> None:
    worker, partner, case_id, _docs, grant_id = shared
    original = jpeg_with_everything()
    assert REPORTER_PHOTO.encode() in original
    photo = _upload(client, worker, case_id, original, filename="letsel.jpg", content_type="image/jpeg")
    url = f"/api/v1/documents/{photo}/content"
    copy = client.get(url, params={"grant_id": grant_id}, headers=partner.headers)
    assert copy.status_code == 200, copy.text
    assert copy.headers["content-type"] == "image/jpeg"
    assert REPORTER_PHOTO.encode() not in copy.content
    assert copy.content == strip_jpeg(original)
    assert client.get(url, headers=worker.headers).content == original  # staff: the stored bytes

    # A Word file stored under a name and type that say nothing: its bytes decide, and it is cleaned.
    word = _upload(client, worker, case_id, DOCX, filename="verslag", content_type="application/octet-stream")
    cleaned = client.get(
        f"/api/v1/documents/{word}/content", params={"grant_id": grant_id}, headers=partner.headers
    )
    assert cleaned.status_code == 200, cleaned.text
    assert cleaned.content == strip_office(DOCX, limit=watermark.MAX_COPY_BYTES)
    assert cleaned.content != DOCX  # what was cleaned is checked entry by entry in tests/services

    # A HEIC photo cannot be cleaned: the gate refuses it before it counts a retrieval, and says so.
    heic = _upload(client, worker, case_id, b"\x00\x00\x00\x18ftypheic", filename="letsel.heic",
                   content_type="application/octet-stream")  # fmt: skip
    used = _retrievals_used(vault, grant_id)
    heic_url = f"/api/v1/documents/{heic}/content"
    for _ in range(3):  # trying again costs nothing either
        refused = client.get(heic_url, params={"grant_id": grant_id}, headers=partner.headers)
        assert refused.status_code == 400
        assert "share it as PDF, JPEG or PNG" in refused.text
    assert _retrievals_used(vault, grant_id) == used
    with vault.db.session() as session:
        denials = session.scalars(
            select(AuditEntry.rule).where(
                AuditEntry.object_id == heic, AuditEntry.tag == str(AuditTag.DOSSIER_ACCESS_DENIED)
            )
        ).all()
    assert denials == ["d22-partner-copy-refused"] * 3
    (item,) = client.get("/api/v1/partner/inbox", headers=partner.headers).json()
    retrievable = {d["document_id"]: d["retrievable"] for d in item["documents"]}
    assert (retrievable[heic], retrievable[photo], retrievable[word]) == (False, True, True)
    assert client.get(heic_url, headers=worker.headers).status_code == 200  # staff read it as it is

    # D22: so is every kind it does not clean, listed or not (an RTF letter with its author, an unknown
    # binary); a JPEG 2000 photo is cleaned of its place; plain text in UTF-16 goes as it is.
    for body, name in ((b"{\\rtf1{\\info{\\author J. Kanarie}}}", "brief.txt"), (b"\x00\x01\x02", "x.jpg")):
        other = _upload(client, worker, case_id, body, filename=name, content_type="image/jpeg")
        refused = client.get(
            f"/api/v1/documents/{other}/content", params={"grant_id": grant_id}, headers=partner.headers
        )
        assert refused.status_code == 400
        assert "share it as PDF, JPEG or PNG" in refused.text
    assert _retrievals_used(vault, grant_id) == used
    jp2 = jpeg2000_with_place()
    scan = _upload(client, worker, case_id, jp2, filename="letsel.jp2", content_type="image/jp2")
    cleaned_scan = client.get(
        f"/api/v1/documents/{scan}/content", params={"grant_id": grant_id}, headers=partner.headers
    )
    assert cleaned_scan.status_code == 200, cleaned_scan.text
    assert cleaned_scan.content == strip_jpeg2000(jp2)
    assert GPS not in cleaned_scan.content
    notitie = "Notitie van het gesprek, café".encode("utf-16")
    text = _upload(client, worker, case_id, notitie, filename="notitie.txt", content_type="text/plain")
    as_is = client.get(
        f"/api/v1/documents/{text}/content", params={"grant_id": grant_id}, headers=partner.headers
    )
    assert as_is.status_code == 200, as_is.text
    assert as_is.content == notitie
    # Shown as the text it is, whatever type the uploader's browser named: never rendered.
    named_html = _upload(
        client, worker, case_id, b"Afspraak om 10 uur", filename="a.htm", content_type="text/html"
    )
    as_text = client.get(
        f"/api/v1/documents/{named_html}/content", params={"grant_id": grant_id}, headers=partner.headers
    )
    assert as_text.status_code == 200, as_text.text
    assert as_text.headers["content-type"].split(";")[0] == "text/plain"

    # A version stored before its kind was recorded is told from its bytes when opened: still refused.
    with vault.db.session() as session:
        session.execute(
            update(DocumentVersion).where(DocumentVersion.document_id == heic).values(copy_kind=None)
        )
    legacy = client.get(heic_url, params={"grant_id": grant_id}, headers=partner.headers)
    assert legacy.status_code == 400
    assert "share it as PDF, JPEG or PNG" in legacy.text


def _retrievals_used(vault: Vault, grant_id: str) -> int:
    with vault.db.session() as session:
        used = session.scalar(select(Grant.retrievals_used).where(Grant.id == grant_id))
    assert used is not None
    return used


def test_d15_d16_the_partners_inbox_and_history_are_on_each_cases_access_report(
    client: TestClient,
    vault: Vault,
    shared: tuple[ApiUser, ApiUser, str, dict[str, str], str],
) -> None:
    """The inbox and the history show a case's reference, partner title and purpose: each listing is
    recorded on every case it shows (one entry per disclosure), not only on the organisation."""
    _worker, partner, case_id, docs, grant_id = shared
    assert client.get("/api/v1/partner/inbox", headers=partner.headers).status_code == 200
    client.get(
        f"/api/v1/documents/{docs['txt']}/content", params={"grant_id": grant_id}, headers=partner.headers
    )
    assert client.get("/api/v1/partner/retrievals", headers=partner.headers).status_code == 200
    with vault.db.session() as session:
        on_case = session.execute(
            select(AuditEntry.tag, AuditEntry.object_type, AuditEntry.object_id)
            .where(AuditEntry.case_id == case_id, AuditEntry.actor_id == partner.user_id)
            .order_by(AuditEntry.seq)
        ).all()
    assert (str(AuditTag.DISCLOSURE_INBOX_LISTED), "grant", grant_id) in on_case
    assert (str(AuditTag.DISCLOSURE_HISTORY_READ), "grant", grant_id) in on_case
