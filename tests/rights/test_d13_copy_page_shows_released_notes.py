"""D13, D22: the worker's copy page (``/inzageverzoeken/{id}/kopie``, "the copy as the subject gets it")
shows the released journal notes the PDF carries, so a mistaken release is caught at the last check."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient

from tests.helpers import ctx_for, pdf_text
from tests.web.conftest import world  # noqa: F401 - the web tests' world (a case, its worker)
from tests.web.world import World, web_login
from vault.app import create_app
from vault.context import FrozenClock
from vault.domain import Role
from vault.runtime import Vault
from vault.services import rights
from vault.services.inzage import ReviewDecision
from vault.services.inzage_review import review_free_text
from vault.services.journal import add_note
from vault.services.subjects import PersonFields, Relation, add_subject

NOTE = "Moeder vertelde dat oma Kanarie-Visser de kinderen opvangt."


@pytest.fixture
def browser_worker(vault: Vault, clock: FrozenClock, world: World) -> Iterator[TestClient]:  # noqa: F811
    with TestClient(create_app(vault)) as client:
        web_login(client, world.worker, clock)
        yield client


def test_d13_the_copy_page_shows_the_notes_the_pdf_gives_the_subject(
    browser_worker: TestClient,
    vault: Vault,
    clock: FrozenClock,
    world: World,  # noqa: F811
) -> None:
    ctx = replace(ctx_for(vault, world.worker.user_id, Role.MEDEWERKER), factor_checked_at=clock.now())
    mother = add_subject(
        vault, ctx, world.case_id, relation=Relation.PARENT, fields=PersonFields(name="Moeder")
    )
    note = add_note(vault, ctx, world.case_id, text=NOTE)
    request = rights.record_access_request(
        vault, ctx, world.case_id, subject_id=mother, received_on=ctx.now().date()
    )
    review_free_text(vault, ctx, request.id, {f"note:{note}": ReviewDecision.RELEASED})

    pdf = browser_worker.get(f"/inzageverzoeken/{request.id}/kopie.pdf")
    assert pdf.status_code == 200, pdf.text
    assert NOTE in " ".join(pdf_text(pdf.content).split())  # the subject gets the note
    page = browser_worker.get(f"/inzageverzoeken/{request.id}/kopie")
    assert page.status_code == 200, page.text
    assert NOTE in page.text, (
        "the copy page the worker checks does not show the released note the PDF carries"
    )
