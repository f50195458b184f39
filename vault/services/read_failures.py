"""A document read whose admission committed but whose body the object store failed to give (D16, D8).

The gate opens the blob before the admission commits, so a store that is down then rolls the
admission back (no read recorded, no retrieval used; ``gate.admit_read``). A store that fails after
that commit — an S3 body interrupted or timed out, a local disk's read error — is told apart here
from an integrity failure (``Integrity``: wrong or damaged bytes, never caught here) and from a
client that went away (that never raises out of the chunks being read):

* ``from_the_store`` wraps the blob's ciphertext chunks: such an error becomes ``StoreReadFailed``
  (an ``Unavailable``: 503);
* ``before_the_first_byte`` runs what reads before any byte is sent (a partner's or professional's
  whole copy, a small document read whole, the header and first segment of a streamed one): on
  ``StoreReadFailed`` one follow-up entry ``dossier:document:read_failed`` is written in a transaction
  of its own (object type document, the same ids, ``admitted_seq`` = the read entry's sequence number,
  ``delivered`` = ``none``) and, in that same transaction, the grant's retrieval is given back (its
  count lowered by one, never below zero, and only while the grant is neither revoked nor expired);
  the client gets 503 with the reason;
* ``while_streaming`` wraps the chunks of a response that has started: bytes went out, so the
  retrieval stays used, and the follow-up entry says ``delivered`` = ``partial``.

Nothing but ids and codes goes into the entry or the log (D16).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

import structlog
from sqlalchemy import update
from sqlalchemy.engine import CursorResult

from vault.audit import record
from vault.context import Context
from vault.domain import AuditTag
from vault.domain import Decision as Effect
from vault.errors import Unavailable, VaultError
from vault.models import Grant
from vault.runtime import Vault
from vault.services.gate_vocabulary import AdmittedRead
from vault.transaction import transaction

__all__ = [
    "STORE_READ_FAILED",
    "StoreReadFailed",
    "before_the_first_byte",
    "failed_before_the_first_byte",
    "from_the_store",
    "note_read_failed",
    "while_streaming",
]

log = structlog.get_logger(__name__)

T = TypeVar("T")

STORE_READ_FAILED = "store-read-failed"  # the rule of the follow-up entry and of the 503
_NOTHING_SENT = "the document could not be read from the object store; nothing was sent; try again later"
_RETURNED = (
    "the document could not be read from the object store; nothing was sent and the retrieval was "
    "not counted; try again later"
)


class StoreReadFailed(Unavailable):
    """The object store failed while an admitted document's body was read (503)."""


def from_the_store(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """The blob's ciphertext chunks; a failure of the store while one is read becomes
    ``StoreReadFailed`` (the S3 store's ``Unavailable``, a local disk's ``OSError``)."""
    try:
        while True:
            try:
                chunk = next(chunks)
            except StopIteration:
                return
            except (Unavailable, OSError):
                raise StoreReadFailed(_NOTHING_SENT, rule=STORE_READ_FAILED) from None
            yield chunk
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()


def note_read_failed(vault: Vault, ctx: Context, admitted: AdmittedRead, *, delivered: bool) -> bool:
    """Write the follow-up entry of a read the store broke off, in a transaction of its own; when
    nothing was delivered, give the grant's retrieval back in it. True when a retrieval was given
    back."""
    with transaction(vault.db) as session:
        record(
            session,
            ctx,
            AuditTag.DOSSIER_DOCUMENT_READ_FAILED,
            case_id=admitted.case_id,
            object_type="document",
            object_id=admitted.document_id,
            decision=Effect.ALLOW,
            rule=STORE_READ_FAILED,
            details={
                "admitted_seq": admitted.seq,
                "version": admitted.version,
                "version_id": admitted.version_id,
                "grant_id": admitted.grant_id,
                "delivered": "partial" if delivered else "none",
            },
        )
        if delivered or admitted.grant_id is None:
            return False
        now = ctx.now()
        result: CursorResult[tuple[()]] = session.execute(  # type: ignore[assignment]
            update(Grant)
            .where(
                Grant.id == admitted.grant_id,
                Grant.retrievals_used > 0,
                Grant.revoked_at.is_(None),
                Grant.valid_until > now,
            )
            .values(retrievals_used=Grant.retrievals_used - 1)
        )
        return (result.rowcount or 0) == 1


def before_the_first_byte(vault: Vault, ctx: Context, admitted: AdmittedRead, read: Callable[[], T]) -> T:
    """``read()`` (nothing of it sent yet); a store failure in it is noted, the retrieval given back,
    and answered 503 with the reason."""
    try:
        return read()
    except StoreReadFailed:
        raise failed_before_the_first_byte(vault, ctx, admitted) from None


def failed_before_the_first_byte(vault: Vault, ctx: Context, admitted: AdmittedRead) -> StoreReadFailed:
    """Note a read the store broke off before its first byte (the retrieval given back); the error to
    raise."""
    returned = _noted(vault, ctx, admitted, delivered=False)
    return StoreReadFailed(_RETURNED if returned else _NOTHING_SENT, rule=STORE_READ_FAILED)


def while_streaming(
    vault: Vault, ctx: Context, admitted: AdmittedRead, chunks: Iterator[bytes]
) -> Iterator[bytes]:
    """The chunks of a response that has started; a store failure is noted (``partial``) and then
    aborts the response. A client that goes away closes this generator: nothing is noted then."""
    try:
        yield from chunks
    except StoreReadFailed:
        _noted(vault, ctx, admitted, delivered=True)
        raise


def _noted(vault: Vault, ctx: Context, admitted: AdmittedRead, *, delivered: bool) -> bool:
    """``note_read_failed``; if the entry cannot be written either, that is logged (ids only) and the
    store's failure is still what the client gets."""
    try:
        return note_read_failed(vault, ctx, admitted, delivered=delivered)
    except VaultError as exc:
        log.error(
            "read_failed_not_noted",
            error=type(exc).__name__,
            document_id=admitted.document_id,
            admitted_seq=admitted.seq,
        )
        return False
