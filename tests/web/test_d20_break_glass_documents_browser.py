"""D20 in the browser (review B1, B5): a colleague outside the team breaks the glass, sees the case by
its reference, and opens a document from the break-the-glass view (a form per readable document that
re-carries the justification in its body). The form page and the view pass axe-core and fit a 375 px
phone; the download is the document, recorded as a flagged read of the same emergency access."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.web.pages import assert_accessible, assert_fits_a_phone
from tests.web.test_browser import login
from tests.web.world import GRANTED_TEXT, World
from vault.context import FrozenClock
from vault.domain import AuditTag, reference_of
from vault.models import AuditEntry, BreakGlassAccess
from vault.runtime import Vault

pytestmark = pytest.mark.browser

WHY = "Politie belt: acuut onveilige situatie, team Noord niet bereikbaar."


def test_d20_break_the_glass_reader_opens_a_document_from_the_view(
    page: Any, live_server: Any, world: World, vault: Vault, clock: FrozenClock
) -> None:
    base = live_server.url
    login(page, base, world.outsider, clock)
    page.goto(f"{base}/zaken/{world.case_id}/noodtoegang")
    assert page.get_by_role(
        "heading", name=f"Noodtoegang tot zaak {reference_of(world.case_id)}"
    ).is_visible()
    assert_fits_a_phone(page)
    assert_accessible(page)
    page.get_by_label("Onderbouwing (20 tot 1000 tekens)").fill(WHY)
    page.get_by_role("button", name="Zaak inzien met noodtoegang").click()
    page.wait_for_selector("text=Noodtoegang.")
    opener = page.get_by_role("button", name="Openen Veiligheidsvoorwaarden")
    assert opener.is_visible()
    assert_fits_a_phone(page)
    assert_accessible(page)
    with page.expect_download() as download_info:
        opener.click()
    download = download_info.value
    assert WHY not in download.url  # the justification travels in the body, never in the address
    assert Path(download.path()).read_bytes() == GRANTED_TEXT

    with vault.db.session() as session:
        read = session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(
                AuditEntry.tag == str(AuditTag.DOSSIER_DOCUMENT_READ),
                AuditEntry.object_id == world.granted_doc,
                AuditEntry.actor_id == world.outsider.user_id,
                AuditEntry.break_glass.is_(True),
            )
        )
        accesses = session.scalar(select(func.count()).select_from(BreakGlassAccess))
    assert (read, accesses) == (1, 1)
