"""Which version of a document a read at the gate opens (``gate.admit_read``): the partner's limit to
the latest version (D8) and what the read's audit entry says about the version (D16)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from vault.audit import record
from vault.context import Context
from vault.domain import AuditTag
from vault.domain import Decision as Effect
from vault.errors import NotFound
from vault.models import DocumentVersion
from vault.transaction import Refusal

__all__ = ["only_the_latest_version", "version_read"]

# D8: what was shared is the document as it stands. A partner (any role outside the staff) reads its
# latest version only: an earlier one may hold what was redacted before sharing (a reporter's name).
_LATEST_VERSION = select(func.max(DocumentVersion.version)).where(
    DocumentVersion.document_id == bindparam("document_id")
)


def only_the_latest_version(
    session: Session, ctx: Context, case_id: str, document_id: str, version: int
) -> None:
    """Refuse (audited, then ``Refusal``: 404) a read of any but the latest version of a document."""
    latest = session.scalar(_LATEST_VERSION, {"document_id": document_id})
    if version == latest:
        return
    record(
        session,
        ctx,
        AuditTag.DOSSIER_ACCESS_DENIED,
        case_id=case_id,
        object_type="document",
        object_id=document_id,
        decision=Effect.DENY,
        rule="d8-latest-version-only",
        details={"attempted": str(AuditTag.DOSSIER_DOCUMENT_READ), "version": version},
    )
    raise Refusal(NotFound("no such document version"))


def version_read(doc: Any) -> dict[str, int | str] | None:
    """D16: the version a read opens, its number and id (the read's entry holds both, so that reads
    of two versions of one document differ); None when the row names no version."""
    version_id = getattr(doc, "version_id", None)  # (the fallback row has no version)
    return {"version": doc.version, "version_id": version_id} if version_id is not None else None
