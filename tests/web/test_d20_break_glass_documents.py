"""D20 (review B5): on the web a break-the-glass reader can open the documents the view lists.

Each readable document in the break-the-glass view has a small form; its POST re-carries the written
justification in the body (never in the URL), is checked like every form (origin, session token) and
runs the same ``admit_read`` with the justification as the GET download and the API. The read is
flagged and joins the emergency access of the view (same session, same text). A POST without the
form's token, with a justification that is not one, or naming a document of another case reads
nothing."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.web.world import GRANTED_TEXT, World, _ctx, csrf_of, web_login
from vault.app import create_app
from vault.context import FrozenClock
from vault.domain import AuditTag, Category
from vault.models import AuditEntry, BreakGlassAccess, BreakGlassAccessEntry, Case
from vault.runtime import Vault
from vault.services.cases import open_report
from vault.services.documents import upload_document
from vault.services.subjects import ReporterFields

WHY = "Politie belt: acute zorgen over de kinderen in dit gezin, team niet bereikbaar"


def _broken_glass(vault: Vault, clock: FrozenClock, world: World) -> tuple[TestClient, str]:
    web = TestClient(create_app(vault), base_url="https://testserver")
    web_login(web, world.outsider, clock)
    form = web.get(f"/zaken/{world.case_id}/noodtoegang")
    view = web.post(
        f"/zaken/{world.case_id}/noodtoegang", data={"justification": WHY, "csrf_token": csrf_of(form.text)}
    )
    assert view.status_code == 200
    return web, view.text


def _flagged_reads(vault: Vault) -> list[tuple[str, str | None]]:
    with vault.db.session() as session:
        return [
            (e.tag, e.object_id)
            for e in session.scalars(
                select(AuditEntry).where(AuditEntry.break_glass).order_by(AuditEntry.seq)
            )
        ]


def test_d20_the_break_the_glass_view_opens_a_document_through_a_post_that_re_carries_the_justification(
    vault: Vault, clock: FrozenClock, world: World
) -> None:
    web, view = _broken_glass(vault, clock, world)
    action = f"/zaken/{world.case_id}/noodtoegang/documenten/{world.granted_doc}"
    form = re.search(rf'<form method="post" action="{re.escape(action)}"[^>]*>(.*?)</form>', view, re.S)
    assert form is not None, "the break-the-glass view offers no form to read the document"
    assert "?" not in action
    assert "Politie" not in action
    assert 'name="justification"' in form.group(1)
    r = web.post(action, data={"justification": WHY, "csrf_token": csrf_of(view)})
    assert r.status_code == 200
    assert r.content == GRANTED_TEXT
    reads = _flagged_reads(vault)
    assert (str(AuditTag.DOSSIER_DOCUMENT_READ), world.granted_doc) in reads
    with vault.db.session() as session:
        accesses = session.scalar(select(func.count()).select_from(BreakGlassAccess))
        joined = session.scalar(select(func.count()).select_from(BreakGlassAccessEntry))
    # one emergency access: the view's reads and the download under the same justification
    assert (accesses, joined) == (1, len(reads))


def test_d20_a_break_the_glass_document_post_without_the_token_or_a_real_justification_reads_nothing(
    vault: Vault, clock: FrozenClock, world: World
) -> None:
    web, view = _broken_glass(vault, clock, world)
    before = _flagged_reads(vault)
    action = f"/zaken/{world.case_id}/noodtoegang/documenten/{world.granted_doc}"
    no_token = web.post(action, data={"justification": WHY})
    padded = web.post(action, data={"justification": "Spoed" + "\ufe0f" * 15, "csrf_token": csrf_of(view)})
    assert (no_token.status_code, padded.status_code) == (403, 400)
    for refused in (no_token, padded):
        assert GRANTED_TEXT.decode() not in refused.text
        assert "<html" in refused.text
        assert 'lang="nl"' in refused.text
    assert _flagged_reads(vault) == before


def test_d20_a_break_the_glass_document_post_for_a_document_of_another_case_reads_nothing(
    vault: Vault, clock: FrozenClock, world: World
) -> None:
    ctx = _ctx(vault, world.worker)
    with vault.db.session() as session:
        team_id = session.get(Case, world.case_id).team_id  # type: ignore[union-attr]
        other_case = open_report(
            session,
            vault,
            ctx,
            team_id=team_id,
            reporter=ReporterFields(name="Kanarie Buur", professional=False),
        ).id
    other_doc = upload_document(
        vault,
        ctx,
        case_id=other_case,
        category=Category.REPORT,
        title="Ander verslag",
        filename="ander.txt",
        content_type="text/plain",
        chunks=[b"Kanarie ander verslag\n"],
    ).document_id
    web, view = _broken_glass(vault, clock, world)
    before = _flagged_reads(vault)
    r = web.post(
        f"/zaken/{world.case_id}/noodtoegang/documenten/{other_doc}",
        data={"justification": WHY, "csrf_token": csrf_of(view)},
    )
    assert r.status_code == 404
    assert "Kanarie ander verslag" not in r.text
    assert _flagged_reads(vault) == before
