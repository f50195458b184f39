"""Destruction (D11, D12): crypto-shredding, removal of content rows, signed certificates,
destruction requests with their three-month deadline, and the 20-year retention sweep.

Destroying a case erases its wrapped data key (nothing can decrypt it afterwards), removes its
content rows where possible, and keeps only what proves the destruction and who could see the case:
the case row (ids and times), the certificate, requests, extensions, grants (revoked, the text a
person typed in them blanked) and assignments, and the audit log, whose chain still verifies.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from sqlalchemy import Table, delete, select, update
from sqlalchemy.orm import Session

from vault.audit import record
from vault.audit.log import hold_chain
from vault.context import Context
from vault.crypto.fields import encrypt_text
from vault.crypto.keys import SubkeyPurpose
from vault.crypto.signing import SigningKey, verify_signature
from vault.domain import Action, AuditTag
from vault.domain import Decision as Effect
from vault.errors import Conflict, Forbidden, InvalidInput, NotFound, StepUpRequired, VaultError
from vault.models import (
    Base,
    Case,
    CaseKey,
    DestructionCertificate,
    DestructionRequest,
    Document,
    DocumentVersion,
)
from vault.repositories import cases as cases_repo
from vault.runtime import Vault
from vault.services.calendar import add_months, local_date
from vault.services.destruction_cleanup import clean_up_after_destruction
from vault.services.destruction_ends import (
    answer_destruction_requests,
    close_grants,
    refuse_while_access_is_asked,
)
from vault.services.gate import GateRequest, pass_gate
from vault.services.keyring import CaseKeyEpoch, case_key_epoch, shred_case
from vault.services.legal_hold import refuse_under_legal_hold
from vault.services.lookup import forget_reidentifications
from vault.services.rights import list_scope, request_scope
from vault.transaction import Refusal, transaction

__all__ = [
    "CertificateView",
    "RefusalReason",
    "audit_side_tables",
    "certificate_for",
    "decide_destruction_request",
    "destroy_case",
    "destroy_expired_case",
    "pending_destruction_requests",
    "read_certificate",
    "record_destruction_request",
    "verify_certificate",
]

# Rows that prove the destruction or record who could see the case are kept; everything else that
# hangs off a case is content and is removed.
# Document rows stay as tombstones (ids and category; the title's ciphertext wiped, versions and
# blobs removed) so that a reader of an old link is told "destroyed" (410) rather than "not found".
_KEEP = frozenset(
    {
        "cases",
        "audit_entries",
        "destruction_requests",
        "destruction_certificates",
        "retention_extensions",
        "access_requests",
        "grants",
        "grant_items",
        "case_assignments",
        "documents",
    }
)
# The audit log's side (D15, D20, D21) is the privacy officer's evidence, not content: a break-the-glass
# justification is sealed under the metadata subkey, not the case key.
_AUDIT_SIDE_MODULES = ("vault.models.audit", "vault.models.logcontrole")


class RefusalReason(StrEnum):
    """D12 / Wmo 2015 art. 5.3.5: the grounds on which a destruction request may be refused."""

    SUBSTANTIAL_INTEREST_OTHER = "substantial_interest_other"  # another person's substantial interest
    STATUTORY_OBLIGATION = "statutory_obligation"  # a statutory rule forbids destruction
    NOT_THE_DATA_SUBJECT = "not_the_data_subject"  # the requester is not a person the dossier is about


def audit_side_tables() -> frozenset[str]:
    """The tables of the audit log's side, by the module that maps them (also one added later)."""
    mappers = [m for m in Base.registry.mappers if m.class_.__module__ in _AUDIT_SIDE_MODULES]
    return frozenset(t.name for m in mappers for t in m.tables)


def _content_tables() -> list[tuple[Table, list[tuple[Table, str, str]]]]:
    """Tables with a case_id (besides the kept ones), each with its child tables (fk, parent key)."""
    kept = _KEEP | audit_side_tables()
    tables = [t for t in Base.metadata.sorted_tables if "case_id" in t.c and t.name not in kept]
    result = []
    for table in tables:
        children = []
        for other in Base.metadata.sorted_tables:
            for fk in other.foreign_keys:
                if fk.column.table is table and other is not table and "case_id" not in other.c:
                    children.append((other, fk.parent.name, fk.column.name))
        result.append((table, children))
    return result


def _remove_content(session: Session, case_id: str) -> list[str]:
    """Delete the case's content rows; return the blob ids to remove once the transaction commits."""
    of_case = select(Document.id).where(Document.case_id == case_id)
    blob_ids = list(
        session.scalars(select(DocumentVersion.blob_id).where(DocumentVersion.document_id.in_(of_case)))
    )
    session.execute(delete(DocumentVersion).where(DocumentVersion.document_id.in_(of_case)))
    session.execute(update(Document).where(Document.case_id == case_id).values(title_enc=b""))
    # Children first, then parents; sorted_tables is parents-first, so walk it backwards.
    for table, children in reversed(_content_tables()):
        for child, fk_col, parent_col in children:
            session.execute(
                delete(child).where(
                    child.c[fk_col].in_(select(table.c[parent_col]).where(table.c.case_id == case_id))
                )
            )
        session.execute(delete(table).where(table.c.case_id == case_id))
    return blob_ids


@dataclass(frozen=True)
class CertificateView:
    id: str
    case_id: str
    body: str
    signature: str


def _signing_key(vault: Vault) -> SigningKey:
    return SigningKey(vault.keys.subkey(SubkeyPurpose.AUDIT_CHECKPOINT).reveal())


def _backup_date(epoch: CaseKeyEpoch | None) -> str:
    """The day from which no backup can decrypt the case: the destruction date of its key's epoch."""
    if epoch is None:
        return "no wrapped key was left"
    if epoch.backups_unreadable_from is None:
        return (
            f"when KEK epoch {epoch.version} is destroyed (after the next rotation plus the backup retention)"
        )
    return epoch.backups_unreadable_from.date().isoformat()


def destroy_case(
    vault: Vault, ctx: Context, case_id: str, *, reason: str, request_id: str | None = None
) -> CertificateView:
    """Crypto-shred the case, remove its content rows and blobs, and issue a signed certificate.

    Idempotent: rerun after an interruption it finishes what is left and returns the certificate.
    Blobs a store outage kept from being deleted are left to the orphan sweep (``destruction_cleanup``).
    """
    with vault.db.session() as session:
        view, blob_ids = _destroy_in(session, vault, ctx, case_id, reason=reason, request_id=request_id)
    clean_up_after_destruction(vault, case_id, blob_ids)
    return view


def destroy_expired_case(vault: Vault, ctx: Context, case_id: str) -> CertificateView | None:
    """The sweep's destruction (D11): the case row read again, locked, in its transaction; None (nothing
    changed) when ``destroy_after`` lies ahead by now (extended, or changed since the sweep listed it)."""
    with vault.db.session() as session:
        hold_chain(session)  # before the row, as every change of the case (PostgreSQL: no lock cycle)
        case = session.scalars(
            select(Case).where(Case.id == case_id).with_for_update().execution_options(populate_existing=True)
        ).first()
        if case is not None and case.destroyed_at is None and case.destroy_after > ctx.now():
            return None
        view, blob_ids = _destroy_in(
            session, vault, ctx, case_id, reason="retention_expired", request_id=None
        )
    clean_up_after_destruction(vault, case_id, blob_ids)
    return view


def _destroy_in(
    session: Session, vault: Vault, ctx: Context, case_id: str, *, reason: str, request_id: str | None
) -> tuple[CertificateView, list[str]]:
    """``destroy_case`` in the caller's transaction; returns the certificate and the blob ids to remove
    once that transaction has committed."""
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound("no such case")
    if case.destroyed_at is None:
        refuse_while_access_is_asked(session, case_id)
    epoch = case_key_epoch(session, case_id)
    _overwrite_key(session, case_id)
    keys_erased = shred_case(session, ctx, case_id) if case.destroyed_at is None else 0
    if case.destroyed_at is None:  # shred_case sets it; keep mypy and readers sure
        case.destroyed_at = ctx.now()
    blob_ids = _remove_content(session, case_id)
    close_grants(session, ctx, case_id)
    answer_destruction_requests(session, ctx, case_id)
    forget_reidentifications(session, case_id)  # D11: an explanation outlives no matched case
    cert = _certificate_row(session, case_id)
    if cert is None:
        cert_id = str(uuid.uuid4())
        body = json.dumps(
            {
                "certificate_id": cert_id,
                "case_id": case_id,
                "destroyed_at": case.destroyed_at.isoformat(),
                "reason": reason,
                "keys_erased": keys_erased,
                "decided_by": ctx.actor_id,
                "request_id": request_id,
                "method": "crypto-shredding: the case's wrapped data key was erased",
                # Backups keep the wrapped key until its KEK epoch is destroyed (docs/security.md).
                "key_epoch": epoch.version if epoch else None,
                "backups_unreadable_from": _backup_date(epoch),
            },
            sort_keys=True,
            separators=(",", ":"),
        )
        signature = base64.b64encode(_signing_key(vault).sign(body.encode())).decode()
        cert = DestructionCertificate(
            id=cert_id,
            case_id=case_id,
            destroyed_at=case.destroyed_at,
            reason=reason,
            keys_erased=keys_erased,
            decided_by=ctx.actor_id,
            request_id=request_id,
            body=body,
            signature=signature,
        )
        session.add(cert)
        record(
            session,
            ctx,
            AuditTag.DOSSIER_CASE_CERTIFIED,
            case_id=case_id,
            object_type="certificate",
            object_id=cert_id,
            details={"reason": reason},
        )
    return CertificateView(cert.id, case_id, cert.body, cert.signature), blob_ids


def _overwrite_key(session: Session, case_id: str) -> None:
    """Zero the wrapped key before its row is deleted: the newest copy of its page (SQLite's WAL, a
    page a busy checkpoint leaves behind) then holds no key, whatever the delete leaves."""
    wrapped = session.scalar(select(CaseKey.wrapped).where(CaseKey.case_id == case_id))
    if wrapped:
        zeros = bytes(len(wrapped))
        session.execute(update(CaseKey).where(CaseKey.case_id == case_id).values(wrapped=zeros))


def certificate_for(vault: Vault, ctx: Context, case_id: str) -> CertificateView:
    """The certificate for the operator at the machine (``vault retention certificate``): no scope
    check (the operator holds the database), audited as every read. Over HTTP: ``read_certificate``."""
    with vault.db.session() as session:
        cert = _certificate_row(session, case_id)
        if cert is None:
            raise NotFound("no destruction certificate for this case")
        return _audited_read(session, ctx, cert)


def _audited_read(session: Session, ctx: Context, cert: DestructionCertificate) -> CertificateView:
    """The certificate, its read audited in the caller's transaction (``rights:certificate:read``)."""
    record(
        session,
        ctx,
        AuditTag.RIGHTS_CERTIFICATE_READ,
        case_id=cert.case_id,
        object_type="certificate",
        object_id=cert.id,
    )
    return CertificateView(cert.id, cert.case_id, cert.body, cert.signature)


def _certificate_row(session: Session, case_id: str) -> DestructionCertificate | None:
    return session.scalars(
        select(DestructionCertificate).where(DestructionCertificate.case_id == case_id)
    ).first()


def read_certificate(vault: Vault, ctx: Context, case_id: str) -> CertificateView:
    """The certificate for someone who may see the case (its team, an assignee, as the work lists) or
    the privacy officer; audited (``rights:certificate:read``) in the same transaction. Anyone else
    gets 404 (a role that sees no certificates: 403) and the attempt is audited; the read is refused
    (503) when the entry cannot be written."""
    with transaction(vault.db) as session:
        refused: VaultError = NotFound("no destruction certificate for this case")
        scope, _rule = request_scope(session, ctx, privacy_officer=True)
        if scope is None:
            refused = Forbidden("only staff see destruction certificates")
        visible = scope is not None and session.scalar(
            select(Case.id).where(Case.id == case_id, cases_repo.visible_cases(scope))
        )
        cert = _certificate_row(session, case_id) if visible else None
        if cert is None:
            known = bool(visible) or session.get(Case, case_id) is not None
            record(
                session,
                ctx,
                AuditTag.DOSSIER_ACCESS_DENIED,
                case_id=case_id if known else None,
                object_type="certificate",
                object_id=case_id if known else None,
                decision=Effect.DENY,
                rule="no-certificate" if visible else "case-not-visible" if scope else "role-not-allowed",
                details={"attempted": str(AuditTag.RIGHTS_CERTIFICATE_READ)},
            )
            raise Refusal(refused)
        return _audited_read(session, ctx, cert)


def verify_certificate(vault: Vault, cert: CertificateView) -> bool:
    try:
        signature = base64.b64decode(cert.signature, validate=True)
    except ValueError:
        return False
    return verify_signature(_signing_key(vault).public_key_bytes(), cert.body.encode(), signature)


# --- Destruction requests (D12) ---------------------------------------------------------------------


def record_destruction_request(vault: Vault, ctx: Context, case_id: str, *, received_on: date) -> str:
    """Record a request with the date it was received; the decision is due within three months."""
    if received_on > local_date(ctx.now()):  # the Dutch calendar day, not UTC's
        raise InvalidInput("the date received cannot lie in the future")

    def add(session: Session, _admission: object) -> str:
        req = DestructionRequest(
            id=str(uuid.uuid4()),
            case_id=case_id,
            received_on=received_on,
            decide_by=add_months(received_on, 3),
            recorded_by=ctx.actor_id,
            status="pending",
        )
        session.add(req)
        session.flush()
        record(
            session,
            ctx,
            AuditTag.RIGHTS_DESTRUCTION_REQUESTED,
            case_id=case_id,
            object_type="destruction_request",
            object_id=req.id,
            details={"decide_by": req.decide_by.isoformat()},
        )
        return req.id

    return pass_gate(
        vault,
        ctx,
        GateRequest(case_id, Action.WRITE),
        tag=AuditTag.RIGHTS_DESTRUCTION_REQUESTED,
        object_type="case",
        object_id=case_id,
        then=add,
        audit_allow=False,
    )


@dataclass(frozen=True)
class DecisionOutcome:
    request_id: str
    status: str
    certificate: CertificateView | None


def decide_destruction_request(
    vault: Vault,
    ctx: Context,
    request_id: str,
    *,
    grant: bool,
    refusal_reason: RefusalReason | None = None,
    refusal_note: str | None = None,
) -> DecisionOutcome:
    """Grant (destroy + certificate) or refuse (a reason from the fixed list plus free text).

    A grant commits with the destruction it orders (D12): the decision, the key erasure, the removal
    and the certificate are one transaction, so a granted request never leaves a live case behind. A
    request granted but left undestroyed (by a version before that) is finished by granting it again.
    Both need a recent second-factor check (the API and the pages alike); a CLI operator has none."""
    if ctx.role != "operator" and not ctx.stepped_up_within(vault.settings.step_up_minutes):
        raise StepUpRequired("a decision on a destruction request needs a recent second-factor check")
    with vault.db.session() as session:
        req = session.get(DestructionRequest, request_id)
        if req is None:
            raise NotFound("no such destruction request")
        case_id = req.case_id
    # Whether it was decided already is told only to whom the gate allows the decision (in ``decide``
    # below): anyone else gets the gate's audited denial, whatever the request's state.
    if not grant and (refusal_reason is None or not (refusal_note or "").strip()):
        raise InvalidInput("a refusal needs a reason from the list and an explanation")
    if grant and (refusal_reason is not None or refusal_note):
        raise InvalidInput("a granted request has no refusal reason")

    def decide(session: Session, admission: object) -> tuple[CertificateView | None, list[str]]:
        row = session.get(DestructionRequest, request_id)
        assert row is not None
        if row.status != "pending" and not (grant and _unfinished(session, row)):
            raise Conflict("this request was already decided")
        if grant:
            refuse_under_legal_hold(session, ctx, case_id)
        if row.status == "pending":
            row.status = "granted" if grant else "refused"
            row.decided_at = ctx.now()
            row.decided_by = ctx.actor_id
        if not grant:
            assert refusal_reason is not None
            assert refusal_note is not None
            dek = getattr(admission, "dek", None)
            assert dek is not None
            row.refusal_code = str(refusal_reason)
            row.refusal_note_enc = encrypt_text(
                dek,
                table="destruction_requests",
                column="refusal_note",
                row_id=request_id,
                value=refusal_note.strip(),
            )
        session.flush()
        if not grant:
            return None, []
        return _destroy_in(session, vault, ctx, case_id, reason="request_granted", request_id=request_id)

    # ADMINISTER on the case record: the team leader of the case's team decides.
    certificate, blob_ids = pass_gate(
        vault,
        ctx,
        GateRequest(case_id, Action.ADMINISTER),
        tag=AuditTag.RIGHTS_DESTRUCTION_GRANTED if grant else AuditTag.RIGHTS_DESTRUCTION_REFUSED,
        object_type="destruction_request",
        object_id=request_id,
        then=decide,
    )
    if grant:
        clean_up_after_destruction(vault, case_id, blob_ids)
    return DecisionOutcome(request_id, "granted" if grant else "refused", certificate)


def _unfinished(session: Session, req: DestructionRequest) -> bool:
    """Granted, yet the case has no destruction certificate."""
    return req.status == "granted" and _certificate_row(session, req.case_id) is None


@dataclass(frozen=True)
class PendingRequest:
    request_id: str
    case_id: str
    received_on: date
    decide_by: date
    overdue: bool


def pending_destruction_requests(vault: Vault, ctx: Context) -> list[PendingRequest]:
    """Pending requests of the cases the actor may see (as the work lists), earliest deadline first;
    the listing is audited (``rights:destruction:listed``, with the count) in the same transaction."""
    today = local_date(ctx.now())
    with transaction(vault.db) as session:
        scope = list_scope(session, ctx, AuditTag.RIGHTS_DESTRUCTION_LISTED)
        rows = session.scalars(
            select(DestructionRequest)
            .join(Case, Case.id == DestructionRequest.case_id)
            .where(DestructionRequest.status == "pending", cases_repo.visible_cases(scope))
            .order_by(DestructionRequest.decide_by, DestructionRequest.id)
        ).all()
        record(
            session,
            ctx,
            AuditTag.RIGHTS_DESTRUCTION_LISTED,
            object_type="list",
            object_id="destruction_requests",
            details={"count": len(rows)},
        )
        return [
            PendingRequest(r.id, r.case_id, r.received_on, r.decide_by, r.decide_by < today) for r in rows
        ]
