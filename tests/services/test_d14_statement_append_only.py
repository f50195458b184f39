"""D14: a subject's statement (zienswijze) is appended beside the original; nothing is overwritten.

A statement is append-only: no new version of it is stored, whatever category the caller names,
through the service, through ``add_version`` itself and through the API. The refusal is a domain rule
(``d14-statement-append-only``, 409), audited as a denied entry naming ids and the rule only. A second
view of the subject is a new statement answering the same document.

Real services, database, blob store and crypto; real HTTP with real accounts and TOTP for the API.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.helpers import (
    ApiUser,
    api_user,
    case_entries,
    ctx_for,
    make_team,
    make_user,
    new_case,
    team_id_of,
    upload,
)
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, Category, Role
from vault.errors import Conflict
from vault.models import DocumentVersion
from vault.runtime import Vault
from vault.services.documents import (
    STATEMENT_APPEND_ONLY,
    add_version,
    read_document,
    seal_to_blob,
    upload_document,
)
from vault.services.gate import RuleRefused
from vault.services.keyring import unwrap_case_key
from vault.services.rights import add_statement
from vault.transaction import transaction

SUBJECTS_WORDS = b"Dit klopt niet: ik heb het kind nooit geslagen."
STAFF_WORDS = b"Vader erkent het verslag."


def _worker_case(vault: Vault) -> tuple[Context, str]:
    team = make_team(vault)
    worker = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team]), Role.MEDEWERKER)
    return worker, new_case(vault, worker, team)


def _statement(vault: Vault, ctx: Context, case_id: str, original: str, words: bytes) -> str:
    return add_statement(
        vault,
        ctx,
        case_id=case_id,
        refers_to_document_id=original,
        title="Zienswijze vader",
        filename="zienswijze.txt",
        content_type="text/plain",
        chunks=[words],
    ).document_id


def _body(vault: Vault, ctx: Context, document_id: str) -> bytes:
    return b"".join(read_document(vault, ctx, document_id).chunks)


def _versions(vault: Vault, document_id: str) -> int:
    with vault.db.session() as session:
        count = session.scalar(
            select(func.count())
            .select_from(DocumentVersion)
            .where(DocumentVersion.document_id == document_id)
        )
    return int(count or 0)


def _blob_files(vault: Vault) -> int:
    return sum(1 for p in vault.settings.blob_dir.rglob("*") if p.is_file())


def _denied_rules(vault: Vault, case_id: str) -> list[str | None]:
    return [e.rule for e in case_entries(vault, case_id, AuditTag.DOSSIER_ACCESS_DENIED)]


@pytest.mark.parametrize("category", [Category.STATEMENT, Category.REPORT, Category.CORRESPONDENCE])
def test_d14_a_statement_cannot_be_replaced_by_a_new_version(vault: Vault, category: Category) -> None:
    worker, case_id = _worker_case(vault)
    original = upload(vault, worker, case_id, b"Verslag: vader sloeg het kind.")
    statement = _statement(vault, worker, case_id, original, SUBJECTS_WORDS)
    blobs_before = _blob_files(vault)

    with pytest.raises(Conflict, match="never replaced") as refused:
        upload_document(
            vault,
            worker,
            case_id=case_id,
            category=category,
            title="Zienswijze vader",
            filename="zienswijze.txt",
            content_type="text/plain",
            chunks=[STAFF_WORDS],
            document_id=statement,
        )

    assert refused.value.rule == STATEMENT_APPEND_ONLY
    assert _body(vault, worker, statement) == SUBJECTS_WORDS  # the subject's own words, as given
    assert _versions(vault, statement) == 1
    assert _blob_files(vault) == blobs_before  # refused before any byte was stored
    assert _denied_rules(vault, case_id) == [STATEMENT_APPEND_ONLY]
    denied = case_entries(vault, case_id, AuditTag.DOSSIER_ACCESS_DENIED)[0]
    assert STAFF_WORDS.decode() not in str(denied.details)
    assert denied.actor_id == worker.actor_id


def test_d14_add_version_itself_refuses_a_version_of_a_statement(vault: Vault) -> None:
    """The rule holds in ``add_version`` too (the row step every upload ends in), not only at the door."""
    worker, case_id = _worker_case(vault)
    original = upload(vault, worker, case_id, b"Verslag.")
    statement = _statement(vault, worker, case_id, original, SUBJECTS_WORDS)
    with transaction(vault.db) as session:
        dek = unwrap_case_key(session, vault.keys, case_id)
    sealed = seal_to_blob(vault, dek, [STAFF_WORDS])
    try:
        with pytest.raises(RuleRefused) as refused, transaction(vault.db) as session:
            add_version(
                session,
                worker,
                dek,
                sealed,
                case_id=case_id,
                category=Category.STATEMENT,
                title="Zienswijze vader",
                filename="zienswijze.txt",
                content_type="text/plain",
                document_id=statement,
            )
    finally:
        vault.blobs.delete(sealed.blob_id)
    assert refused.value.rule == STATEMENT_APPEND_ONLY
    assert isinstance(refused.value.error, Conflict)
    assert _versions(vault, statement) == 1
    assert _body(vault, worker, statement) == SUBJECTS_WORDS


def test_d14_a_second_view_is_a_new_statement_beside_the_first(vault: Vault) -> None:
    worker, case_id = _worker_case(vault)
    original = upload(vault, worker, case_id, b"Verslag.")
    first = _statement(vault, worker, case_id, original, SUBJECTS_WORDS)
    second = _statement(vault, worker, case_id, original, b"Aanvulling van vader.")
    assert second != first
    assert _body(vault, worker, first) == SUBJECTS_WORDS
    assert _body(vault, worker, second) == b"Aanvulling van vader."
    assert _denied_rules(vault, case_id) == []


def test_d14_other_documents_still_get_new_versions(vault: Vault) -> None:
    worker, case_id = _worker_case(vault)
    report = upload(vault, worker, case_id, b"Verslag versie 1.")
    stored = upload_document(
        vault,
        worker,
        case_id=case_id,
        category=Category.REPORT,
        title="Gespreksverslag",
        filename="verslag.txt",
        content_type="text/plain",
        chunks=[b"Verslag versie 2."],
        document_id=report,
    )
    assert stored.version == 2
    assert _body(vault, worker, report) == b"Verslag versie 2."


def test_d14_api_refuses_a_new_version_of_a_statement_with_409(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    user: ApiUser = api_user(client, vault, clock, Role.MEDEWERKER, team="Team Zienswijze")
    worker = ctx_for(vault, user.user_id, Role.MEDEWERKER)
    case_id = new_case(vault, worker, team_id_of(vault, "Team Zienswijze"))
    original = upload(vault, worker, case_id, b"Verslag.")
    statement = _statement(vault, worker, case_id, original, SUBJECTS_WORDS)

    r = client.post(
        f"/api/v1/cases/{case_id}/documents",
        params={"category": "statement", "document_id": statement},
        content=STAFF_WORDS,
        headers={**user.headers, "X-Document-Title": "Zienswijze", "X-Document-Filename": "z.txt"},
    )
    assert r.status_code == 409, r.text
    assert "statement" in r.text
    assert STAFF_WORDS.decode() not in r.text
    r = client.get(f"/api/v1/documents/{statement}/content", headers=user.headers)
    assert r.status_code == 200, r.text
    assert r.content == SUBJECTS_WORDS
