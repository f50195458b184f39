"""D16, D21 (medical: vertrouwensarts only; review F5): a new version is decided on the category of the
document it adds to, not on the category the caller names, before a byte of the body is read. A case
worker who names a vertrouwensarts's medical document is the gate's audited denial (naming the
document); a document not in the case, or named under another category, is refused and audited too.
Nothing is streamed in, nothing is stored."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from tests.helpers import ctx_for, make_team, make_user, new_case, upload
from vault.context import Context
from vault.domain import Category, Role
from vault.errors import Forbidden, NotFound, VaultError
from vault.models import AuditEntry, Document, DocumentVersion
from vault.runtime import Vault
from vault.services.documents import DOCUMENT_NOT_IN_CATEGORY, upload_document


def _last_seq(vault: Vault) -> int:
    with vault.db.session() as session:
        return session.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1)) or 0


def _denials_since(vault: Vault, seq: int, actor_id: str) -> list[AuditEntry]:
    with vault.db.session() as session:
        return list(
            session.scalars(
                select(AuditEntry).where(
                    AuditEntry.seq > seq, AuditEntry.actor_id == actor_id, AuditEntry.decision == "deny"
                )
            )
        )


def _try_version(
    vault: Vault, ctx: Context, case_id: str, document_id: str, category: Category, streamed: list[int]
) -> VaultError:
    def body() -> Iterator[bytes]:
        for n in range(3):
            streamed.append(n)
            yield b"overschreven " * 100

    with pytest.raises(VaultError) as refused:
        upload_document(
            vault, ctx, case_id=case_id, category=category, title="nieuwe versie", filename="x.txt",
            content_type="text/plain", chunks=body(), document_id=document_id,
        )  # fmt: skip
    return refused.value


def _versions(vault: Vault, document_id: str) -> int:
    with vault.db.session() as session:
        return len(
            session.scalars(select(DocumentVersion).where(DocumentVersion.document_id == document_id)).all()
        )


def test_d16_d21_a_case_workers_attempt_to_version_a_medical_document_is_refused_before_streaming_and_audited(
    vault: Vault,
) -> None:
    team = make_team(vault)
    worker = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team]), Role.MEDEWERKER)
    doctor = ctx_for(vault, make_user(vault, Role.VERTROUWENSARTS, teams=[team]), Role.VERTROUWENSARTS)
    case_id = new_case(vault, worker, team)
    medical = upload(vault, doctor, case_id, b"medische bevindingen", category=Category.MEDICAL)
    before = _last_seq(vault)
    streamed: list[int] = []

    error = _try_version(vault, worker, case_id, medical, Category.REPORT, streamed)

    assert isinstance(error, Forbidden | NotFound), error
    assert streamed == [], f"the body was read before the refusal ({len(streamed)} chunks)"
    with vault.db.session() as session:
        assert session.scalar(select(Document.category).where(Document.id == medical)) == "medical"
    assert _versions(vault, medical) == 1
    denials = [e for e in _denials_since(vault, before, worker.actor_id) if e.object_id == medical]
    assert denials, "the case worker's attempt on the medical document left no audit entry"


@pytest.mark.parametrize("which", ["other-category", "unknown-document"])
def test_d16_a_version_named_under_another_category_or_for_no_document_is_refused_before_streaming(
    vault: Vault, which: str
) -> None:
    team = make_team(vault)
    doctor = ctx_for(vault, make_user(vault, Role.VERTROUWENSARTS, teams=[team]), Role.VERTROUWENSARTS)
    case_id = new_case(vault, doctor, team)
    medical = upload(vault, doctor, case_id, b"medische bevindingen", category=Category.MEDICAL)
    target = medical if which == "other-category" else "00000000-0000-4000-8000-000000000000"
    before = _last_seq(vault)
    streamed: list[int] = []

    error = _try_version(vault, doctor, case_id, target, Category.REPORT, streamed)

    assert isinstance(error, NotFound), error
    assert streamed == []
    assert _versions(vault, medical) == 1
    rules = [e.rule for e in _denials_since(vault, before, doctor.actor_id)]
    assert rules == [DOCUMENT_NOT_IN_CATEGORY], rules
