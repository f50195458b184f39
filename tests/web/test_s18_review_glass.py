"""Session 18 review of break-the-glass (D8, D20): what an emergency reader receives.

A break-the-glass reader is refused the reporter's identity (D8). Staff name files after what they
hold ("gesprek met Kanarie Melder.txt"); under break-the-glass the download must not carry that name.
"""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.web.world import World, _ctx, csrf_of, web_login
from vault.app import create_app
from vault.context import FrozenClock
from vault.domain import Category
from vault.runtime import Vault
from vault.services.documents import upload_document

WHY = "Politie belt: acute zorgen over de kinderen in dit gezin, team niet bereikbaar"
REPORTER_FILE = "Gesprek met melder Kanarie Melder.txt"


def _named_document(vault: Vault, world: World) -> str:
    return upload_document(
        vault,
        _ctx(vault, world.worker),
        case_id=world.case_id,
        category=Category.REPORT,
        title="Gespreksverslag melding",
        filename=REPORTER_FILE,
        content_type="text/plain",
        chunks=[b"Verslag van het gesprek.\n"],
    ).document_id


def _broken_glass(vault: Vault, clock: FrozenClock, world: World) -> tuple[TestClient, str]:
    web = TestClient(create_app(vault), base_url="https://testserver")
    web_login(web, world.outsider, clock)
    form = web.get(f"/zaken/{world.case_id}/noodtoegang")
    view = web.post(
        f"/zaken/{world.case_id}/noodtoegang", data={"justification": WHY, "csrf_token": csrf_of(form.text)}
    )
    assert view.status_code == 200
    return web, view.text


def test_d8_a_break_the_glass_download_does_not_carry_the_uploaders_file_name(
    vault: Vault, clock: FrozenClock, world: World
) -> None:
    doc = _named_document(vault, world)
    web, view = _broken_glass(vault, clock, world)
    r = web.post(
        f"/zaken/{world.case_id}/noodtoegang/documenten/{doc}",
        data={"justification": WHY, "csrf_token": csrf_of(view)},
    )
    assert r.status_code == 200
    disposition = r.headers["content-disposition"]
    assert "Kanarie" not in disposition, disposition
    assert "Melder" not in disposition, disposition
    assert "VT-" in disposition


def test_d8_a_break_the_glass_api_download_does_not_carry_the_uploaders_file_name(
    vault: Vault, clock: FrozenClock, world: World
) -> None:
    from urllib.parse import quote

    from tests.helpers import api_user
    from tests.web.world import OTHER_TEAM
    from vault.domain import Role

    doc = _named_document(vault, world)
    with TestClient(create_app(vault)) as client:
        user = api_user(client, vault, clock, Role.MEDEWERKER, team=OTHER_TEAM)
        headers = {**user.headers, "X-Break-Glass-Justification": quote(WHY)}
        r = client.get(f"/api/v1/documents/{doc}/content", headers=headers)
        assert r.status_code == 200, r.text
        disposition = r.headers["content-disposition"]
        assert "Kanarie" not in disposition, disposition
        assert "Melder" not in disposition, disposition
        assert "VT-" in disposition
        # the case's own team keeps the original name
        worker = api_user(client, vault, clock, Role.MEDEWERKER, team="Team Noord")
        own = client.get(f"/api/v1/documents/{doc}/content", headers=worker.headers)
        assert own.status_code == 200, own.text
        assert "Kanarie" in own.headers["content-disposition"]


# A justification of 991 characters in 32 lines: within the form's 1000, but a browser sends each line
# break as CRLF (1022 characters on the wire).
LONG_LINES = "\n".join(f"Regel {i:02d}: zorg om het kind nu." for i in range(32))


def _accesses(vault: Vault) -> list[str | None]:
    from sqlalchemy import select

    from vault.audit.break_glass import open_justification
    from vault.models import BreakGlassAccess

    with vault.db.session() as session:
        rows = session.scalars(select(BreakGlassAccess).order_by(BreakGlassAccess.seq)).all()
        return [open_justification(vault, r.seq, r.justification_enc) for r in rows]


def test_d20_a_long_justification_with_line_breaks_is_kept_whole_and_opens_documents(
    vault: Vault, clock: FrozenClock, world: World
) -> None:
    assert len(LONG_LINES) <= 1000 < len(LONG_LINES.replace("\n", "\r\n"))
    wire = LONG_LINES.replace("\n", "\r\n")
    web = TestClient(create_app(vault), base_url="https://testserver")
    web_login(web, world.outsider, clock)
    form = web.get(f"/zaken/{world.case_id}/noodtoegang")
    view = web.post(
        f"/zaken/{world.case_id}/noodtoegang", data={"justification": wire, "csrf_token": csrf_of(form.text)}
    )
    assert view.status_code == 200, view.text
    assert _accesses(vault) == [LONG_LINES]  # kept whole, not cut on the wire's length
    # the document form re-carries it (a browser sends the hidden field's line breaks as CRLF too)
    r = web.post(
        f"/zaken/{world.case_id}/noodtoegang/documenten/{world.granted_doc}",
        data={"justification": wire, "csrf_token": csrf_of(view.text)},
    )
    assert r.status_code == 200, r.text
    assert _accesses(vault) == [LONG_LINES]  # the read joined the view's access
