"""D22, D8 (D3, D16): a document whose recorded kind cannot be cleaned (``copy_kind`` REFUSE) is refused
to the outside professional who asked advice at the gate, the same way as to a partner: before the
read is recorded — one ``dossier:access:denied`` entry with rule ``d22-partner-copy-refused``, no
``dossier:document:read`` entry — with the partner's error. Staff still read it; a cleanable version
still reads for the professional. Real API, real database, real policy."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.api.test_partner_copies import REPORTER, _pdf_that_talks_about_itself
from tests.helpers import api_user, ctx_for
from tests.services.test_d22_professional_copy_cleaned import _advice_case_with
from vault.context import FrozenClock
from vault.domain import AuditTag, OrgType, Role
from vault.models import AuditEntry, DocumentVersion
from vault.runtime import Vault
from vault.services.copy_kind import COPY_REFUSED, REFUSE, gets_recipient_copy, refused
from vault.services.watermark import applies

TIFF = b"II*\x00\x08\x00\x00\x00" + f"Artist {REPORTER}".encode() + bytes(64)


def _entries(vault: Vault, document_id: str, actor_id: str) -> list[AuditEntry]:
    with vault.db.session() as session:
        rows = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.object_id == document_id, AuditEntry.actor_id == actor_id)
            .order_by(AuditEntry.seq)
        )
        return list(rows)


def _kind(vault: Vault, document_id: str) -> str | None:
    with vault.db.session() as session:
        return session.scalar(
            select(DocumentVersion.copy_kind).where(DocumentVersion.document_id == document_id)
        )


def test_d22_the_professionals_read_of_an_uncleanable_version_is_refused_before_it_is_recorded(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    prof = api_user(client, vault, clock, Role.PROFESSIONAL, org=("Huisartsenpraktijk Kiel", OrgType.SCHOOL))
    doc = _advice_case_with(client, vault, clock, prof, TIFF, "foto.tif")
    assert _kind(vault, doc) == REFUSE  # the kind recorded at upload decides at the gate

    got = client.get(f"/api/v1/documents/{doc}/content", headers=prof.headers)

    assert got.status_code == 400, got.text
    assert got.json()["detail"] == refused().message  # the very error a partner gets
    assert REPORTER.encode() not in got.content
    mine = _entries(vault, doc, prof.user_id)
    assert [(e.tag, e.decision, e.rule) for e in mine] == [
        (str(AuditTag.DOSSIER_ACCESS_DENIED), "deny", COPY_REFUSED)
    ], "one denial with the rule, and no read entry"
    assert json.loads(mine[0].details)["attempted"] == str(AuditTag.DOSSIER_DOCUMENT_READ)


def test_d22_staff_still_read_the_uncleanable_version_and_the_professional_a_cleanable_one(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    prof = api_user(client, vault, clock, Role.PROFESSIONAL, org=("Basisschool De Kiel", OrgType.SCHOOL))
    tiff = _advice_case_with(client, vault, clock, prof, TIFF, "foto.tif")
    worker = api_user(client, vault, clock, Role.MEDEWERKER, team="Team Advies")
    staff_read = client.get(f"/api/v1/documents/{tiff}/content", headers=worker.headers)
    assert staff_read.status_code == 200, staff_read.text
    assert staff_read.content == TIFF  # staff get the stored bytes
    assert [e.tag for e in _entries(vault, tiff, worker.user_id)] == [str(AuditTag.DOSSIER_DOCUMENT_READ)]

    pdf = _advice_case_with(client, vault, clock, prof, _pdf_that_talks_about_itself(), "brief.pdf")
    got = client.get(f"/api/v1/documents/{pdf}/content", headers=prof.headers)
    assert got.status_code == 200, got.text
    assert got.content.startswith(b"%PDF")
    assert [(e.tag, e.decision) for e in _entries(vault, pdf, prof.user_id)] == [
        (str(AuditTag.DOSSIER_DOCUMENT_READ), "allow")
    ]


def test_d22_the_gate_and_the_copy_ask_one_question_of_the_role(vault: Vault) -> None:
    """Whoever gets the cleaned copy (``watermark.applies``) is whoever the gate refuses an uncleanable
    kind: one predicate, every role outside staff."""
    for role in Role:
        ctx = ctx_for(vault, "00000000-0000-0000-0000-000000000000", role)
        assert applies(ctx) is gets_recipient_copy(ctx.role) is (not role.is_staff)
