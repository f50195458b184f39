"""Documents: streamed, size-limited upload into the blob store; immutable versions.

An upload is sealed into a durable blob outside any database transaction (a slow client must not
hold the database's write lock), and only then referenced by a version row in a short transaction.

Reading content is not here: it happens only in ``vault.services.gate``, after the second factor,
the policy decision and the audit entry.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import chain

import structlog
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vault.context import Context
from vault.crypto.envelope import DataKey
from vault.crypto.fields import encrypt_text
from vault.crypto.stream import encrypt_stream
from vault.domain import Action, AuditTag, Category, disguising_characters
from vault.errors import Conflict, InvalidInput, NotFound, TooLarge
from vault.models import Case, Document, DocumentVersion
from vault.runtime import Vault
from vault.services.blobs import discard_sealed_blob
from vault.services.copy_kind import Kind
from vault.services.gate import (
    Admission,
    GateRequest,
    OpenedDocument,
    RuleRefused,
    admit_read,
    open_admitted,
    pass_gate,
)
from vault.services.retention import destroy_after_for
from vault.storage.blobs import new_blob_id
from vault.transaction import transaction

__all__ = [
    "STATEMENT_APPEND_ONLY",
    "EmptyFile",
    "SealedBlob",
    "StoredVersion",
    "add_version",
    "check_content_type",
    "clean_name",
    "read_document",
    "seal_to_blob",
    "touch_case",
    "upload_document",
]

log = structlog.get_logger(__name__)

_MAX_NAME = 255
STATEMENT_APPEND_ONLY = "d14-statement-append-only"
# A new version named for a document that is not in the case, or under another category than its own.
DOCUMENT_NOT_IN_CATEGORY = "d16-no-such-document-in-category"


@dataclass(frozen=True)
class StoredVersion:
    document_id: str
    version_id: str
    version: int
    plaintext_length: int


class _SizeLimit:
    """Counts plaintext bytes as they stream and stops the upload once it exceeds the limit."""

    def __init__(self, chunks: Iterable[bytes], limit: int) -> None:
        self._chunks = chunks
        self._limit = limit
        self.length = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._chunks:
            self.length += len(chunk)
            if self.length > self._limit:
                raise TooLarge(f"the document is larger than the limit of {self._limit} bytes")
            yield chunk


class EmptyFile(InvalidInput):
    """The file holds no byte: no document (the upload form says so beside the file field)."""

    def __init__(self) -> None:
        super().__init__("the file is empty: nothing was stored; choose a file with content")


def _not_empty(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """``chunks`` again, once a first byte came; a stream that ends without one is ``EmptyFile``,
    before anything is stored (a cloud placeholder never downloaded, a file emptied while open: the
    worker would believe a document is in the dossier, and an empty new version hides the one before)."""
    stream = iter(chunks)
    for first in stream:
        if first:
            return chain([first], stream)
    raise EmptyFile()


def without_controls(value: str) -> str:
    """``value`` without what ``clean_name`` refuses: control characters (C0, DEL, C1) and bidi
    controls. For a name nobody can be asked to retype (a public form's attachment)."""
    return "".join(ch for ch in value if not disguising_characters(ch))


def clean_name(value: str, what: str) -> str:
    """Titles and file names: 1–255 characters, no control characters, no path separators."""
    value = value.strip()
    if not value or len(value) > _MAX_NAME:
        raise InvalidInput(f"{what} must be 1 to {_MAX_NAME} characters")
    if disguising_characters(value):
        # C0, DEL and C1 controls; bidirectional overrides would disguise a name ("fact\u202eTXT.exe").
        raise InvalidInput(f"{what} must not contain control characters")
    return value.replace("/", "_").replace("\\", "_")


def touch_case(case: Case, ctx: Context) -> None:
    """Every change moves the retention deadline (D11)."""
    case.last_changed_at = ctx.now()
    # An extension (with its reason) may already reach further: never shorten it.
    case.destroy_after = max(case.destroy_after, destroy_after_for(case.last_changed_at))


@dataclass(frozen=True)
class SealedBlob:
    """Ciphertext made durable in the blob store, not yet referenced by any row."""

    version_id: str
    blob_id: str
    plaintext_length: int
    ciphertext_length: int
    ciphertext_sha256: str
    copy_kind: str | None  # what a partner's copy needs, told from every plaintext byte (``copy_kind``)


def seal_to_blob(vault: Vault, dek: DataKey, chunks: Iterable[bytes]) -> SealedBlob:
    """Encrypt a stream under the case key into a new durable blob (outside any transaction).

    The size limit is enforced while streaming; a refused or failed stream leaves no blob.
    """
    version_id = str(uuid.uuid4())
    blob_id = new_blob_id()
    limited = _SizeLimit(chunks, vault.settings.max_upload_bytes)
    kind = Kind(limited)
    info = vault.blobs.put(blob_id, encrypt_stream(dek, version_id, kind))
    return SealedBlob(version_id, blob_id, limited.length, info.length, info.sha256, kind.kind)


def _check_answered(session: Session, case_id: str, refers_to_id: str) -> None:
    """D14: the document a statement answers is in the same case and is no statement itself. Checked
    only after the gate allowed the write, so someone who may not write to the case learns nothing
    about its documents (their attempt is the gate's audited denial)."""
    original = session.get(Document, refers_to_id)
    if original is None or original.case_id != case_id:
        raise NotFound("no such document in this case")
    if original.category == Category.STATEMENT:
        raise InvalidInput("a statement answers a document, not another statement")


def _refuse_statement_version(session: Session, case_id: str, document_id: str) -> None:
    """D14: a statement is the subject's own words, appended; no new version replaces them (whatever
    category the caller names). A second view is a new statement answering the same document."""
    existing = session.get(Document, document_id)
    if existing is not None and existing.case_id == case_id and existing.category == Category.STATEMENT:
        raise RuleRefused(
            Conflict("a statement is never replaced: add a new statement to the document it answers (D14)"),
            STATEMENT_APPEND_ONLY,
        )


def _stored_category(vault: Vault, case_id: str, document_id: str) -> Category | None:
    """The category of the case's document ``document_id`` (None: no such document in the case)."""
    with vault.db.session() as session:
        found = session.scalar(
            select(Document.category).where(Document.id == document_id, Document.case_id == case_id)
        )
    return Category(found) if found is not None else None


def add_version(
    session: Session,
    ctx: Context,
    dek: DataKey,
    sealed: SealedBlob,
    *,
    case_id: str,
    category: Category,
    title: str,
    filename: str,
    content_type: str,
    document_id: str | None = None,
    refers_to_id: str | None = None,
    new_document_id: str | None = None,
) -> StoredVersion:
    """Reference a sealed blob from a new document version; visible once the caller commits.

    ``new_document_id``: the id a new document gets, when the caller named it in the audit entry."""
    title = clean_name(title, "title")
    filename = clean_name(filename, "file name")
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound("no such case")
    if refers_to_id is not None:
        _check_answered(session, case_id, refers_to_id)
    if document_id is None:
        document = Document(
            id=new_document_id or str(uuid.uuid4()),
            case_id=case_id,
            category=str(category),
            title_enc=b"",
            created_at=ctx.now(),
            created_by=ctx.actor_id,
            refers_to_id=refers_to_id,
        )
        document.title_enc = encrypt_text(
            dek, table="documents", column="title", row_id=document.id, value=title
        )
        session.add(document)
        number = 1
    else:
        _refuse_statement_version(session, case_id, document_id)
        existing = session.get(Document, document_id)
        if existing is None or existing.case_id != case_id or existing.category != str(category):
            raise NotFound("no such document")
        document = existing
        number = 1 + (
            session.scalar(
                select(func.max(DocumentVersion.version)).where(DocumentVersion.document_id == document.id)
            )
            or 0
        )
    session.add(
        DocumentVersion(
            id=sealed.version_id,
            document_id=document.id,
            version=number,
            blob_id=sealed.blob_id,
            filename_enc=encrypt_text(
                dek, table="document_versions", column="filename", row_id=sealed.version_id, value=filename
            ),
            content_type=content_type,
            plaintext_length=sealed.plaintext_length,
            ciphertext_length=sealed.ciphertext_length,
            ciphertext_sha256=sealed.ciphertext_sha256,
            created_at=ctx.now(),
            created_by=ctx.actor_id,
            copy_kind=sealed.copy_kind,
        )
    )
    touch_case(case, ctx)
    session.flush()
    return StoredVersion(document.id, sealed.version_id, number, sealed.plaintext_length)


def check_content_type(content_type: str) -> str:
    content_type = content_type.strip() or "application/octet-stream"
    if len(content_type) > 127 or not content_type.isascii() or any(ord(c) < 32 for c in content_type):
        raise InvalidInput("content type is not valid")
    return content_type


# --- Use cases: read and upload through the gate -------------------------------------------------


def read_document(
    vault: Vault,
    ctx: Context,
    document_id: str,
    *,
    version: int | None = None,
    break_glass_justification: str | None = None,
    purpose: str | None = None,
    grant_id: str | None = None,
) -> OpenedDocument:
    """Open one document version for reading, through the gate: decided and audited in one
    transaction that commits before this returns (``admit_read``), then opened (``open_admitted``)."""
    with transaction(vault.db) as session:
        admitted = admit_read(
            session,
            vault,
            ctx,
            document_id,
            version=version,
            break_glass_justification=break_glass_justification,
            purpose=purpose,
            grant_id=grant_id,
        )
    return open_admitted(vault, admitted)


def upload_document(
    vault: Vault,
    ctx: Context,
    *,
    case_id: str,
    category: Category,
    title: str,
    filename: str,
    content_type: str,
    chunks: Iterable[bytes],
    document_id: str | None = None,
    refers_to_id: str | None = None,
) -> StoredVersion:
    """Add a document (or a new version of one) through the gate.

    1. WRITE is decided before any byte is accepted (a denial is audited and refused);
    2. the stream is sealed into a durable blob outside any transaction;
    3. WRITE is decided again, audited, and the version row added, in one short transaction.
    If step 3 is denied or fails, the blob is removed; when its commit's outcome is unknown (the
    database was lost) or after a crash, the orphan sweep removes it if no row references it.
    """
    if category is Category.SUBJECTS:
        raise InvalidInput("subjects is not a document category: subjects are added as people")
    if category is Category.STATEMENT and document_id is None and refers_to_id is None:
        raise InvalidInput("a statement names the document it answers: add it as a statement (D14)")
    title = clean_name(title, "title")
    filename = clean_name(filename, "file name")
    content_type = check_content_type(content_type)
    # D16, D21: a new version is decided on the category of the document it adds to, not the one the
    # caller names (a case worker naming a medical document is the gate's audited denial).
    stored = _stored_category(vault, case_id, document_id) if document_id is not None else None
    req = GateRequest(case_id, Action.WRITE, category=stored or category, document_id=document_id)

    def key_of(session: Session, admission: Admission) -> DataKey:
        assert admission.dek is not None
        if refers_to_id is not None:  # only once the gate allowed it: nothing to probe (D14)
            _check_answered(session, case_id, refers_to_id)
        if document_id is not None:  # refused before any byte streams in (D14), audited
            _refuse_statement_version(session, case_id, document_id)
            if stored is not category:
                raise RuleRefused(NotFound("no such document"), DOCUMENT_NOT_IN_CATEGORY)
        return admission.dek

    dek = pass_gate(
        vault,
        ctx,
        req,
        tag=AuditTag.DOSSIER_DOCUMENT_CREATED,
        object_type="document",
        object_id=document_id,
        then=key_of,
        audit_allow=False,
    )
    sealed = seal_to_blob(vault, dek, _not_empty(chunks))
    # D16: the entry names the document (a new one's id is chosen now) and the version it adds.
    new_document_id = None if document_id is not None else str(uuid.uuid4())

    def reference(session: Session, admission: Admission) -> StoredVersion:
        assert admission.dek is not None
        return add_version(
            session,
            ctx,
            admission.dek,
            sealed,
            case_id=case_id,
            category=category,
            title=title,
            filename=filename,
            content_type=content_type,
            document_id=document_id,
            refers_to_id=refers_to_id,
            new_document_id=new_document_id,
        )

    try:
        return pass_gate(
            vault,
            ctx,
            req,
            tag=AuditTag.DOSSIER_DOCUMENT_CREATED,
            object_type="document",
            object_id=document_id or new_document_id,
            then=reference,
            details={"version_id": sealed.version_id},
        )
    except BaseException as failure:  # D18: not when the commit's outcome is unknown (the sweep decides)
        discard_sealed_blob(vault, sealed.blob_id, failure)
        raise
