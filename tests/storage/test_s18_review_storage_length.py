"""Review S18, storage: a download's body must never look complete when it is not the document.

The response declares ``Content-Length`` from the length recorded in the version row and streams
what the blob decrypts to. When the two disagree (a row edited in the database, a restore that
mixed rows and blobs), the streamed body went on past its declared length: a server then sends
exactly the declared bytes and breaks off, and the client holds a file of exactly the announced size
— cut off, looking complete. A small document (recorded length under 256 KiB) was read whole, on the
event loop, whatever its real size. Real SQLite, real blobs and crypto; the row is changed with SQL
as a database administrator would.
"""

from __future__ import annotations

import anyio
import pytest
from fastapi.responses import Response, StreamingResponse
from sqlalchemy import update

from tests.helpers import ctx_for, make_team, make_user, new_case, upload
from vault.context import Context
from vault.domain import Role
from vault.errors import Integrity
from vault.http.downloads import INLINE_BYTES, admitted_response
from vault.models import DocumentVersion
from vault.runtime import Vault
from vault.services.gate import admit_read
from vault.transaction import transaction

MiB = 1 << 20


def _worker_document(vault: Vault, data: bytes) -> tuple[Context, str]:
    team = make_team(vault)
    worker = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team]), Role.MEDEWERKER)
    case_id = new_case(vault, worker, team)
    return worker, upload(vault, worker, case_id, data, chunk=MiB)


def _record_length(vault: Vault, document_id: str, length: int) -> None:
    with vault.db.session() as session:
        session.execute(
            update(DocumentVersion)
            .where(DocumentVersion.document_id == document_id)
            .values(plaintext_length=length)
        )


def _sent(vault: Vault, ctx: Context, document_id: str) -> tuple[int, int, BaseException | None]:
    """(declared Content-Length, bytes the body gave before it ended or failed, the failure)."""

    async def run() -> tuple[int, int, BaseException | None]:
        with transaction(vault.db) as session:
            admitted = admit_read(session, vault, ctx, document_id)
        try:
            response: Response = await admitted_response(vault, ctx, admitted)
        except Integrity as exc:
            return -1, 0, exc
        declared = int(response.headers["content-length"])
        if not isinstance(response, StreamingResponse):
            return declared, len(bytes(response.body)), None
        sent = 0
        iterator = response.body_iterator
        try:
            async for chunk in iterator:
                sent += len(chunk)
        except Integrity as exc:
            return declared, sent, exc
        return declared, sent, None

    return anyio.run(run)


@pytest.mark.parametrize("recorded", [2 * MiB, 2 * MiB + 12345])
def test_s18_a_body_longer_than_its_recorded_length_never_fills_the_declared_length(
    vault: Vault, recorded: int
) -> None:
    data = bytes(range(256)) * (3 * MiB // 256)
    worker, doc = _worker_document(vault, data)
    _record_length(vault, doc, recorded)
    declared, sent, failure = _sent(vault, worker, doc)
    assert declared == recorded
    assert failure is not None, "the body went on past its declared length without an error"
    assert sent < declared, "the client got exactly the declared bytes of a longer document: looks complete"


def test_s18_a_body_shorter_than_its_recorded_length_fails(vault: Vault) -> None:
    data = b"Afspraak met school en wijkteam.\n" * (2 * MiB // 33)
    worker, doc = _worker_document(vault, data)
    _record_length(vault, doc, 3 * MiB)
    declared, sent, failure = _sent(vault, worker, doc)
    assert failure is not None
    assert sent < declared


def test_s18_a_small_recorded_length_does_not_read_a_large_document_whole(vault: Vault) -> None:
    data = bytes(range(256)) * (3 * MiB // 256)
    worker, doc = _worker_document(vault, data)
    _record_length(vault, doc, INLINE_BYTES // 2)
    _declared, sent, failure = _sent(vault, worker, doc)
    assert failure is not None, "a 3 MiB document was sent whole under a recorded length of 128 KiB"
    assert sent <= INLINE_BYTES
