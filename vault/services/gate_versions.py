"""Which version of a document a read at the gate opens (``gate.admit_read``): for a reader outside the
staff, the version that was shared (D8, D22) — and what the read's audit entry says about the version
(D16).

A disclosure shares a document as it stood when the grant was made: staff reviewed that version for
this partner (D22), perhaps a version with the reporter's name taken out (D8). A partner reads, under
a grant, the newest version created at or before the grant was made. A version uploaded after that
(the unredacted original again) was never looked at for this partner: a new disclosure is how it is
shared; an extension keeps what the grant shares. A document added to a shared category after the
grant is covered as the category stands (D10: staff who add a document to a shared category share it,
and may still redact it by a new version, D8): its newest version. Anyone else outside the
staff (the professional who asked advice, who has no grant) reads the latest version only. Staff read
any version.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, case, func, select
from sqlalchemy.orm import Session, aliased

from vault.audit import record
from vault.context import Context
from vault.domain import AuditTag, Role
from vault.domain import Decision as Effect
from vault.errors import NotFound
from vault.models import Document, DocumentVersion, Grant
from vault.policy import Actor
from vault.repositories import access as access_repo
from vault.transaction import Refusal

__all__ = ["shared_copy_kind", "the_version_shared", "version_read"]

# D8: a reader outside the staff without a grant reads the latest version only: an earlier one may
# hold what was redacted before (a reporter's name).
_LATEST_VERSION = select(func.max(DocumentVersion.version)).where(
    DocumentVersion.document_id == bindparam("document_id")
)


_V = aliased(DocumentVersion, name="shared_version")


def _shared_version(document_id: Any, made: Any) -> Any:
    """The number of the version of ``document_id`` a grant made at ``made`` shares (a scalar subquery):
    the newest created at or before it, else (a document added to a shared category later) the newest."""
    at_the_grant = func.max(case((_V.created_at <= made, _V.version)))
    return select(func.coalesce(at_the_grant, func.max(_V.version))).where(_V.document_id == document_id)


# The grant the gate's decision takes (``access.CHOSEN_GRANT``, keyed by: a grant is named) and the
# version it shares.
_SHARED = {
    named: select(
        Grant.id,
        _shared_version(bindparam("document_id"), Grant.created_at)
        .correlate(Grant)
        .scalar_subquery()
        .label("version"),
    ).where(Grant.id == chosen.correlate(None).scalar_subquery())
    for named, chosen in access_repo.CHOSEN_GRANT.items()
}


def shared_copy_kind(made: datetime) -> Any:
    """The recorded copy kind of the version a grant made at ``made`` shares, of each ``Document`` (a
    scalar subquery correlated with ``Document``): what the partner's inbox says of it."""
    shared = _shared_version(Document.id, made).correlate(Document).scalar_subquery()
    return (
        select(DocumentVersion.copy_kind)
        .where(DocumentVersion.document_id == Document.id, DocumentVersion.version == shared)
        .correlate(Document)
        .scalar_subquery()
    )


def _pinned(
    session: Session, ctx: Context, actor: Actor, doc: Any, document_id: str, grant_id: str | None
) -> Any:
    """The grant a partner's read is decided on (as ``access.find_grant`` chooses it) and the version it
    shares, as a row (``id``, ``version``); None for anyone else or when no grant is found."""
    if actor.role is not Role.PARTNER or actor.org_id is None:
        return None
    params = {"org_id": actor.org_id, "case_id": doc.document_case_id, "document_id": document_id}
    if grant_id is not None:
        params["grant_id"] = grant_id
    else:
        params.update(category=doc.category, now=ctx.now())
    return session.connection().execute(_SHARED[grant_id is not None], params).first()


def the_version_shared(
    session: Session,
    ctx: Context,
    actor: Actor,
    document_id: str,
    doc: Any,
    version: int | None,
    grant_id: str | None,
) -> tuple[Any, str | None]:
    """For a reader outside the staff: the row of the version the read opens (``doc``, the latest or
    ``version``, read again when the grant shares another) and the grant to decide on (the one that
    chose the version, so that the decision takes the same). An explicit ``version`` other than the one
    shared (or, without a grant, the latest) is refused: audited, then ``Refusal`` (404)."""
    pinned = _pinned(session, ctx, actor, doc, document_id, grant_id)
    if pinned is None and version is None:
        return doc, grant_id
    if pinned is not None:
        grant_id, shared = pinned.id, pinned.version
    else:
        shared = session.scalar(_LATEST_VERSION, {"document_id": document_id})
    if version is not None and version != shared:
        record(
            session,
            ctx,
            AuditTag.DOSSIER_ACCESS_DENIED,
            case_id=doc.document_case_id,
            object_type="document",
            object_id=document_id,
            decision=Effect.DENY,
            rule="d8-latest-version-only",
            details={"attempted": str(AuditTag.DOSSIER_DOCUMENT_READ), "version": version},
        )
        raise Refusal(NotFound("no such document version"))
    if shared is None or doc.version == shared:
        return doc, grant_id
    return access_repo.document_read_facts(session, ctx, document_id, shared)[1], grant_id


def version_read(doc: Any) -> dict[str, int | str] | None:
    """D16: the version a read opens, its number and id (the read's entry holds both, so that reads
    of two versions of one document differ); None when the row names no version."""
    version_id = getattr(doc, "version_id", None)  # (the fallback row has no version)
    return {"version": doc.version, "version_id": version_id} if version_id is not None else None
