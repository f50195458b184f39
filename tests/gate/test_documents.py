"""Documents through the gate: round trips, scopes, second factor, break-the-glass, shredding.

Every test runs over the local blob store and over S3 (a real SeaweedFS, tests/s3.py).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.audit.oracle import verify_chain
from tests.helpers import ctx_for, make_org, make_team, make_user, new_case, upload
from tests.s3 import incomplete_uploads, settings_for_backend
from vault.config import Settings
from vault.context import Context
from vault.domain import AuditTag, CaseKind, Category, OrgType, Role
from vault.errors import Destroyed, Forbidden, Integrity, InvalidInput, NotFound, StepUpRequired
from vault.models import AuditEntry, CaseKey, DocumentVersion
from vault.runtime import Vault
from vault.services.case_view import view_case
from vault.services.destruction import destroy_case
from vault.services.documents import EmptyFile, read_document


@pytest.fixture
def settings(settings: Settings, blob_backend: str, request: pytest.FixtureRequest) -> Settings:
    return settings_for_backend(settings, blob_backend, request)


@pytest.fixture
def team(vault: Vault) -> str:
    return make_team(vault)


@pytest.fixture
def worker(vault: Vault, team: str) -> str:
    return make_user(vault, Role.MEDEWERKER, teams=[team])


def _read_all(vault: Vault, ctx: object, document_id: str, **kw: object) -> bytes:
    opened = read_document(vault, ctx, document_id, **kw)  # type: ignore[arg-type]
    return b"".join(opened.chunks)


@pytest.mark.parametrize("size", [0, 1, 65_535, 65_536, 65_537, 3 * 65_536 + 17])
def test_d18_team_member_round_trips_a_document(vault: Vault, team: str, worker: str, size: int) -> None:
    ctx = ctx_for(vault, worker, Role.MEDEWERKER)
    case_id = new_case(vault, ctx, team)
    data = bytes((i * 7) % 251 for i in range(size))
    if size == 0:  # an empty file is no document (session 17, U6): refused, nothing stored
        with pytest.raises(EmptyFile):
            upload(vault, ctx, case_id, data)
        assert view_case(vault, ctx, case_id).documents == []
        assert not [p for p in vault.settings.blob_dir.rglob("*") if p.is_file()]
        return
    doc_id = upload(vault, ctx, case_id, data)
    opened = read_document(vault, ctx, doc_id)
    # Bytes that are no text keep no ``.txt`` for staff (D22, ``file_names.staff_download``).
    assert (opened.filename, opened.length) == ("verslag.txt.bin", size)
    assert b"".join(opened.chunks) == data
    titles = {d.document_id: d.title for d in view_case(vault, ctx, case_id).documents}
    assert titles[doc_id] == "Gespreksverslag"


def test_d17_no_content_without_second_factor(vault: Vault, team: str, worker: str) -> None:
    case_id = new_case(vault, ctx_for(vault, worker, Role.MEDEWERKER), team)
    doc_id = upload(vault, ctx_for(vault, worker, Role.MEDEWERKER), case_id, b"inhoud")
    with pytest.raises((Forbidden, NotFound)):
        read_document(vault, ctx_for(vault, worker, Role.MEDEWERKER, verified=False), doc_id)


def test_denials_are_audited_and_reveal_nothing(vault: Vault, team: str, worker: str) -> None:
    ctx = ctx_for(vault, worker, Role.MEDEWERKER)
    doc_id = upload(vault, ctx, new_case(vault, ctx, team), b"inhoud")
    outsider = make_user(vault, Role.MEDEWERKER, teams=[make_team(vault)])
    with pytest.raises(Forbidden):
        read_document(vault, ctx_for(vault, outsider, Role.MEDEWERKER), doc_id)
    officer = make_user(vault, Role.PRIVACY_OFFICER)
    with pytest.raises((Forbidden, NotFound)):
        read_document(vault, ctx_for(vault, officer, Role.PRIVACY_OFFICER), doc_id)
    partner = make_user(vault, Role.PARTNER, org_id=make_org(vault, OrgType.LOCAL_TEAM))
    with pytest.raises(NotFound):
        read_document(vault, ctx_for(vault, partner, Role.PARTNER), doc_id)
    with pytest.raises(NotFound):
        read_document(vault, ctx, "00000000-0000-0000-0000-000000000000")
    with vault.db.session() as session:
        denied = session.scalars(
            select(AuditEntry).where(AuditEntry.tag == AuditTag.DOSSIER_ACCESS_DENIED)
        ).all()
        assert {e.actor_id for e in denied} >= {outsider, officer, partner, worker}
        assert all(e.decision == "deny" and e.rule for e in denied)
        assert verify_chain(session).ok


def test_d18_only_the_confidential_doctor_reads_medical(vault: Vault, team: str, worker: str) -> None:
    doctor = make_user(vault, Role.VERTROUWENSARTS, teams=[team])
    dctx = ctx_for(vault, doctor, Role.VERTROUWENSARTS)
    case_id = new_case(vault, dctx, team)
    doc_id = upload(vault, dctx, case_id, b"medische gegevens", category=Category.MEDICAL)
    assert _read_all(vault, dctx, doc_id) == b"medische gegevens"
    with pytest.raises(Forbidden):
        read_document(vault, ctx_for(vault, worker, Role.MEDEWERKER), doc_id)


def test_d20_break_the_glass_needs_justification_and_step_up_and_is_flagged(
    vault: Vault, team: str, worker: str
) -> None:
    ctx = ctx_for(vault, worker, Role.MEDEWERKER)
    doc_id = upload(vault, ctx, new_case(vault, ctx, team), b"spoed")
    other = make_user(vault, Role.MEDEWERKER, teams=[make_team(vault)])
    reason = "Acute melding buiten kantooruren, dienstdoende collega"
    with pytest.raises(Forbidden):
        read_document(
            vault, ctx_for(vault, other, Role.MEDEWERKER), doc_id, break_glass_justification="te kort"
        )
    with pytest.raises(StepUpRequired):
        read_document(
            vault,
            ctx_for(vault, other, Role.MEDEWERKER, stepped_up=False),
            doc_id,
            break_glass_justification=reason,
        )
    assert (
        _read_all(vault, ctx_for(vault, other, Role.MEDEWERKER), doc_id, break_glass_justification=reason)
        == b"spoed"
    )
    with vault.db.session() as session:
        flagged = session.scalars(select(AuditEntry).where(AuditEntry.break_glass.is_(True))).all()
    assert [(e.actor_id, e.tag) for e in flagged] == [(other, AuditTag.DOSSIER_DOCUMENT_READ)]


def _operator(vault: Vault) -> Context:
    return Context(actor_id="os:tester", role="operator", access_point="cli", clock=vault.clock)


def test_d11_destroyed_case_reads_as_destroyed_and_its_key_is_erased(
    vault: Vault, team: str, worker: str
) -> None:
    ctx = ctx_for(vault, worker, Role.MEDEWERKER)
    case_id = new_case(vault, ctx, team)
    doc_id = upload(vault, ctx, case_id, b"te vernietigen")
    cert = destroy_case(vault, _operator(vault), case_id, reason="retention_expired")
    assert json.loads(cert.body)["keys_erased"] == 1
    with pytest.raises(Destroyed):
        read_document(vault, ctx, doc_id)
    with vault.db.session() as session:
        assert session.get(CaseKey, case_id) is None
        assert verify_chain(session).ok


def test_d11_running_sqlite_database_holds_no_erased_key(vault: Vault, team: str, worker: str) -> None:
    """Deleted rows linger in SQLite's free pages and WAL; destruction must leave no copy on disk."""
    if not vault.db.is_sqlite:
        pytest.skip("PostgreSQL has no secure delete: erasure there rests on KEK rotation (docs/format.md)")
    ctx = ctx_for(vault, worker, Role.MEDEWERKER)
    case_id = new_case(vault, ctx, team)
    with vault.db.session() as session:
        row = session.get(CaseKey, case_id)
        assert row is not None
        wrapped = row.wrapped
    destroy_case(vault, _operator(vault), case_id, reason="retention_expired")
    db_file = Path(vault.settings.url.database or "")
    raw = b"".join(p.read_bytes() for p in db_file.parent.glob(db_file.name + "*"))  # file and WAL, live
    assert len(raw) > 10_000
    assert wrapped not in raw


def test_upload_over_the_limit_is_refused_and_leaves_nothing(vault: Vault, team: str, worker: str) -> None:
    from dataclasses import replace

    small = replace(vault, settings=vault.settings.model_copy(update={"max_upload_bytes": 100_000}))
    ctx = ctx_for(vault, worker, Role.MEDEWERKER)
    case_id = new_case(vault, ctx, team)
    with pytest.raises(InvalidInput, match="larger than the limit"):
        upload(small, ctx, case_id, b"x" * 100_001)
    with vault.db.session() as session:
        assert session.scalars(select(DocumentVersion)).all() == []
    assert list(vault.blobs.list_blobs()) == []
    assert not any(p.is_file() for p in vault.settings.blob_dir.rglob("*"))
    assert incomplete_uploads(vault.blobs) == []


def test_new_upload_is_a_new_version_and_the_old_one_is_unchanged(
    vault: Vault, team: str, worker: str
) -> None:
    from vault.services.documents import upload_document

    ctx = ctx_for(vault, worker, Role.MEDEWERKER)
    case_id = new_case(vault, ctx, team)
    doc_id = upload(vault, ctx, case_id, b"versie een")
    with vault.db.session() as session:
        first = session.scalars(select(DocumentVersion)).one()
        digest = first.ciphertext_sha256
    stored = upload_document(
        vault,
        ctx,
        case_id=case_id,
        category=Category.REPORT,
        title="t",
        filename="f.txt",
        content_type="text/plain",
        chunks=[b"versie twee"],
        document_id=doc_id,
    )
    assert stored.version == 2
    assert _read_all(vault, ctx, doc_id) == b"versie twee"
    assert _read_all(vault, ctx, doc_id, version=1) == b"versie een"
    blob = b"".join(vault.blobs.iter_chunks(first.blob_id))
    assert hashlib.sha256(blob).hexdigest() == digest


def test_tampered_or_missing_blob_is_refused_on_read(vault: Vault, team: str, worker: str) -> None:
    ctx = ctx_for(vault, worker, Role.MEDEWERKER)
    case_id = new_case(vault, ctx, team)
    doc_a = upload(vault, ctx, case_id, b"A" * 200_000)
    doc_b = upload(vault, ctx, case_id, b"B" * 10)
    with vault.db.session() as session:
        rows = {r.document_id: r for r in session.scalars(select(DocumentVersion))}
    blob_a = rows[doc_a].blob_id
    raw = bytearray(b"".join(vault.blobs.iter_chunks(blob_a)))
    raw[len(raw) - 100] ^= 0x01  # flip one bit in the last segment
    vault.blobs.delete(blob_a)  # replaced behind the vault's back (a file edit, an object rewrite)
    vault.blobs.put(blob_a, [bytes(raw)])
    with pytest.raises(Integrity):
        _read_all(vault, ctx, doc_a)
    vault.blobs.delete(rows[doc_b].blob_id)
    with pytest.raises(Integrity):
        read_document(vault, ctx, doc_b)


def test_d3_professional_reads_only_own_advice(vault: Vault, team: str, worker: str) -> None:
    from vault.services.cases import open_case

    prof = make_user(vault, Role.PROFESSIONAL, org_id=make_org(vault, OrgType.SCHOOL))
    other = make_user(vault, Role.PROFESSIONAL, org_id=make_org(vault, OrgType.SCHOOL))
    ctx = ctx_for(vault, worker, Role.MEDEWERKER)
    with vault.db.session() as session:
        case_id = open_case(
            session, vault, ctx, kind=CaseKind.ADVICE_PROFESSIONAL, team_id=team, owner_id=prof
        ).id
    doc_id = upload(vault, ctx, case_id, b"advies", category=Category.ADVICE)
    assert _read_all(vault, ctx_for(vault, prof, Role.PROFESSIONAL), doc_id) == b"advies"
    with pytest.raises(NotFound):
        read_document(vault, ctx_for(vault, other, Role.PROFESSIONAL), doc_id)
