"""The gate: the one place where dossier content leaves the vault (ARCHITECTURE "The one rule").

For every read of content, in this order and in one transaction:
1. the audit chain's lock is taken (``hold_chain``: on PostgreSQL; SQLite's transactions hold the
   database), then the actor's facts are read, so that no change recorded before this read's entry
   (a destruction, an ended membership, a disabled account) is missing from them; an unknown or
   disabled account is refused; the decision includes the second-factor requirement (D17) and, for
   break-the-glass, a recent step-up;
2. the policy decides for this actor, object, action and purpose (``vault.policy``);
3. the audit entry recording the decision is written; only then is the key unwrapped and content
   read. The transaction commits before the first plaintext byte is returned.
A denial is audited too, committed, and then refused. Nothing else in the code decrypts case content
(``tests/gate/test_one_gate.py`` proves it).

The doors, and when to use which:

- ``pass_gate(vault, ctx, GateRequest(...), then=...)`` — a read or change of one case in a transaction
  of its own; ``then`` runs only when allowed, with the case key in its ``Admission``. A domain rule
  that refuses inside ``then`` (``RuleRefused``) rolls it all back and is audited on its own.
- ``admit(session, ...)`` — the same inside the caller's transaction (a ``GroupCommit`` job); a denial
  is raised as ``Refusal`` so that its audit entry commits.
- ``admit_read`` then ``open_admitted`` — one document read (the hot path): decide and audit inside the
  caller's transaction, open the content only after it committed.
- ``gated_write`` — ``pass_gate`` for a WRITE of one category; ``refuse`` audits a refusal made
  outside the gate.
- ``refuse_unless_staff`` — staff's own business on a case (what was shared, consents): any other role
  is refused and audited before the gate is asked, the same answer whether or not the case exists.
- ``decrypt_case_field`` — one personal field, inside ``then``; ``partner_texts`` — a grant's title and
  purpose for its own recipient organisation, screened (the partner's listings audit themselves).
- ``would_allow`` — a preview (no audit entry, no key, no content); ``decide`` and ``refusal`` — the bare
  decision and its error, for a caller recording the outcome in its transaction (``disclosure:grant:denied``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import chain
from typing import Any, TypeVar

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from vault.audit import record
from vault.audit.break_glass import note_emergency_access
from vault.audit.log import hold_chain, holds_chain
from vault.context import Context
from vault.crypto.fields import decrypt_text
from vault.crypto.keys import WrappedKey
from vault.crypto.stream import decrypt_stream
from vault.domain import Action, AuditTag, Category, Role
from vault.domain import Decision as Effect
from vault.errors import Destroyed, Forbidden, Integrity, NotFound, StepUpRequired, VaultError
from vault.models import Case, Document, Grant
from vault.policy import Actor, CaseFacts, Decision, DecisionContext, GrantFacts, Target
from vault.repositories import access as access_repo
from vault.runtime import Vault
from vault.services.copy_kind import COPY_REFUSED, REFUSE, gets_recipient_copy
from vault.services.copy_kind import refused as refused_copy
from vault.services.file_names import copy_type, neutral_filename, staff_download, version_created_at
from vault.services.gate_refusals import refuse, refuse_unless_staff
from vault.services.gate_versions import the_version_shared, version_read
from vault.services.gate_vocabulary import (
    Admission,
    AdmittedRead,
    GateRequest,
    OpenedDocument,
    RuleRefused,
    TextScreen,
)
from vault.services.keyring import unwrap_case_key
from vault.services.read_failures import from_the_store
from vault.transaction import Refusal, transaction

__all__ = [
    "Admission",
    "AdmittedRead",
    "GateRequest",
    "OpenedDocument",
    "RuleRefused",
    "admit",
    "admit_read",
    "decide",
    "decrypt_case_field",
    "gated_write",
    "open_admitted",
    "partner_texts",
    "pass_gate",
    "refusal",
    "refuse",
    "refuse_unless_staff",
    "would_allow",
]

T = TypeVar("T")


def refusal(actor: Actor | None, case: CaseFacts | None, decision: Decision) -> VaultError:
    if case is not None and case.destroyed and decision.rule == "p:case-destroyed":
        return Destroyed("this case was destroyed; its content can no longer be read")
    if actor is not None and case is not None and actor.role.is_staff:
        # Staff find case ids through the audited person lookup anyway; telling them that the case
        # exists lets them ask for break-the-glass instead of guessing.
        return Forbidden(f"access refused ({decision.reason})")
    return NotFound("no such case or document")


def decide(
    session: Session, vault: Vault, ctx: Context, req: GateRequest, facts: access_repo.Facts | None = None
) -> tuple[Actor | None, CaseFacts | None, GrantFacts | None, Decision]:
    """Gather the facts (unless the caller read them already, in this transaction) and ask the
    policy; no audit entry, no key. Callers record the outcome."""
    # A session that says partner gets the grant in the same query (the database decides the role).
    combined = facts is None and ctx.role == Role.PARTNER
    grant = None
    if combined:
        facts, grant = access_repo.partner_decision_facts(
            session, ctx, req.case_id, category=req.category, document_id=req.document_id, grant=req.grant_id
        )
    actor, case, legal_basis = facts or access_repo.decision_facts(session, ctx, req.case_id)
    if actor is None:
        return None, None, None, Decision(False, "unknown-actor", "unknown or disabled account")
    if case is None:
        return actor, None, None, Decision(False, "no-such-case", "no such case")
    session.info.setdefault("case_legal_basis", {})[case.case_id] = legal_basis
    if not combined and actor.role is Role.PARTNER and actor.org_id is not None:
        grant = access_repo.find_grant(
            session,
            org_id=actor.org_id,
            case_id=req.case_id,
            category=req.category,
            document_id=req.document_id,
            now=ctx.now(),
            grant_id=req.grant_id,
        )
    decision = vault.policy.decide(
        actor,
        Target(case=case, category=req.category, document_id=req.document_id),
        req.action,
        DecisionContext(
            now=ctx.now(),
            break_glass_justification=req.break_glass_justification,
            grant=grant,
            reporter_identity_release=req.reporter_identity_release,
            purpose=req.purpose,
        ),
    )
    return actor, case, grant, decision


def would_allow(vault: Vault, ctx: Context, req: GateRequest) -> bool:
    """Would the policy allow ``req``? A preview only: no audit entry, no key, no content.

    Lets a view skip the parts an actor may never see (e.g. medical titles for a medewerker)
    instead of filling the audit log with denials nobody asked for; every actual read still goes
    through ``pass_gate``.
    """
    with vault.db.session() as session:
        _, _, _, decision = decide(session, vault, ctx, req)
    return decision.allowed


def pass_gate(
    vault: Vault,
    ctx: Context,
    req: GateRequest,
    *,
    tag: AuditTag,
    object_type: str,
    object_id: str | None,
    then: Callable[[Session, Admission], T],
    audit_allow: bool = True,
    details: dict[str, int | str] | None = None,
) -> T:
    """Decide, audit, and run ``then`` in the same transaction only when allowed.

    ``then`` receives the admission with the case's data key when the action reads or writes
    content. A denial is committed to the audit log and then raised (404, 403, 410 or 401 for a
    missing step-up). ``audit_allow=False`` is only for the admission check before an upload
    streams in: that allow is audited by the second decision, which adds the version row and names it
    in ``details``.

    A domain rule that refuses inside ``then`` (``RuleRefused``) rolls the transaction back, allow
    entry included; the refusal is then audited on its own (``refuse``) and its error raised.
    """
    try:
        with transaction(vault.db) as session:
            return admit(
                session,
                vault,
                ctx,
                req,
                tag=tag,
                object_type=object_type,
                object_id=object_id,
                then=then,
                audit_allow=audit_allow,
                details=details,
            )
    except RuleRefused as refused:
        refuse(vault, ctx, refused.error, rule=refused.rule, attempted=tag, case_id=req.case_id)


def admit(
    session: Session,
    vault: Vault,
    ctx: Context,
    req: GateRequest,
    *,
    tag: AuditTag,
    object_type: str,
    object_id: str | None,
    then: Callable[[Session, Admission], T],
    audit_allow: bool = True,
    facts: access_repo.Facts | None = None,
    wrapped_key: WrappedKey | None = None,
    copy_refused: bool = False,
    details: dict[str, int | str] | None = None,
) -> T:
    """``pass_gate`` inside the caller's transaction (a `transaction` or a `GroupCommit` job).

    A denial is recorded and then raised as ``Refusal(error)``, so that the denial's audit entry
    commits and the caller gets the error after it. ``facts`` and ``wrapped_key``: what the caller
    read already in this transaction (a document read gets both in one query), after taking the
    chain lock (``hold_chain``; a `GroupCommit` batch takes it first); the key is still unwrapped
    only after the decision and its audit entry. ``copy_refused``: the document is of a kind a
    partner's copy cannot be cleaned of (``copy_kind``); a read that the policy allows by a reader who
    gets that copy (outside staff: a partner, the professional who asked advice) is then refused,
    audited with rule ``d22-partner-copy-refused``, before it is recorded or counts a retrieval.
    ``details``: ids and numbers the allow entry adds (D16: which version a read opens, which version
    an upload adds).
    """
    if not audit_allow and req.action is not Action.WRITE:
        raise ValueError("only a write admission may skip its audit entry")
    if facts is None:
        hold_chain(session)  # before the facts (step 1)
    elif not holds_chain(session) and session.get_bind().dialect.name == "postgresql":
        raise RuntimeError("facts passed to the gate must be read while holding the chain lock")
    actor, case, grant, decision = decide(session, vault, ctx, req, facts)
    refused: VaultError | None = None
    if decision.allowed and decision.break_glass and not _stepped_up(vault, ctx):
        decision = Decision(False, "step-up-required", "break-the-glass needs a recent second-factor check")
        refused = StepUpRequired("break-the-glass needs a second-factor check within the last minutes")
    if decision.allowed and copy_refused and gets_recipient_copy(ctx.role):
        # D8, D22: a kind the copy cannot be cleaned of (``watermark.applies`` asks the same).
        decision = Decision(False, COPY_REFUSED, "this kind of file cannot be cleaned for a partner")
        refused = refused_copy()
    if decision.allowed and grant is not None and not access_repo.consume_retrieval(session, grant.grant_id):
        decision = Decision(False, "grant-used-up", "the grant was used up or revoked")
    seq = None
    if not decision.allowed or audit_allow:
        seq = record(
            session,
            ctx,
            tag if decision.allowed else AuditTag.DOSSIER_ACCESS_DENIED,
            case_id=case.case_id if case else None,
            object_type=object_type,
            object_id=object_id,
            legal_basis=_legal_basis(session, case, grant),
            purpose=req.purpose,
            decision=Effect.ALLOW if decision.allowed else Effect.DENY,
            rule=decision.rule,
            break_glass=decision.break_glass,
            details={"attempted": str(tag), "grant_id": grant.grant_id if grant else None, **(details or {})},
        )
        if decision.allowed and decision.break_glass and case is not None:
            # D20: the justification is sealed beside the entry (never in it), in this transaction.
            note_emergency_access(session, vault, ctx, case.case_id, seq, req.break_glass_justification)
    if not decision.allowed or actor is None or case is None:
        raise Refusal(refused or refusal(actor, case, decision))
    dek = None
    if req.action in _KEYED_ACTIONS:
        dek = unwrap_case_key(session, vault.keys, case.case_id, wrapped_key)
    return then(session, Admission(decision, actor, case, grant, dek, seq))


# Actions whose admission carries the case key: reading, writing, exporting (the inzage copy), and
# the team leader's administration of the case (which writes encrypted decisions such as a refusal's
# explanation).
_KEYED_ACTIONS = frozenset({Action.READ, Action.WRITE, Action.ADMINISTER, Action.EXPORT})


def _stepped_up(vault: Vault, ctx: Context) -> bool:
    # A CLI operator authenticates to the machine, not through a session: no step-up to check.
    return ctx.role == "operator" or ctx.stepped_up_within(vault.settings.step_up_minutes)


def _legal_basis(session: Session, case: CaseFacts | None, grant: GrantFacts | None) -> str | None:
    """The ground of the access: the grant's legal basis for a partner, else the case's (D1)."""
    if grant is not None and grant.legal_basis is not None:
        return grant.legal_basis
    if case is not None:
        known: dict[str, str | None] = session.info.get("case_legal_basis", {})
        if case.case_id in known:
            return known[case.case_id]
        case_row = session.get(Case, case.case_id)
        return case_row.legal_basis if case_row else None
    return None


# --- Documents -------------------------------------------------------------------------------------


# For a caller the facts query finds no account for (so no row): the document alone, to record the
# denial against the right case.
_DOCUMENT = select(Document.case_id.label("document_case_id"), Document.category).where(
    Document.id == bindparam("document_id")
)


def admit_read(
    session: Session,
    vault: Vault,
    ctx: Context,
    document_id: str,
    *,
    version: int | None = None,
    break_glass_justification: str | None = None,
    purpose: str | None = None,
    grant_id: str | None = None,
    read_facts: tuple[access_repo.Facts, Any] | None = None,
) -> AdmittedRead:
    """Decide and audit one document read in the caller's transaction; a refusal is recorded and
    raised as ``Refusal``. Nothing may be opened before the transaction has committed. ``read_facts``:
    ``document_read_facts``'s answer when the caller read it with the session (the download)."""
    if read_facts is None:
        hold_chain(session)  # before the facts (step 1)
    facts, doc = read_facts or access_repo.document_read_facts(session, ctx, document_id, version)
    if doc is None:
        doc = session.connection().execute(_DOCUMENT, {"document_id": document_id}).first()
    if doc is None:
        # Unknown document id: audit the attempt (no case) and answer 404.
        record(
            session,
            ctx,
            AuditTag.DOSSIER_ACCESS_DENIED,
            object_type="document",
            object_id=document_id[:64],
            decision=Effect.DENY,
            rule="no-such-document",
            details={"attempted": str(AuditTag.DOSSIER_DOCUMENT_READ)},
        )
        raise Refusal(NotFound("no such case or document"))
    category = Category(doc.category)
    actor = facts[0]
    if actor is not None and not actor.role.is_staff:  # D8, D22: the version shared, under its grant
        doc, grant_id = the_version_shared(session, ctx, actor, document_id, doc, version, grant_id)
    # Read with the facts (absent when the fallback lookup found the document).
    wrapped = WrappedKey(version=doc.kek_version, blob=doc.wrapped) if facts[1] and doc.wrapped else None

    def open_version(session: Session, admission: Admission) -> AdmittedRead:
        assert admission.dek is not None
        if doc.version_id is None:
            raise NotFound("no such document version")
        filename = decrypt_text(
            admission.dek,
            table="document_versions",
            column="filename",
            row_id=doc.version_id,
            value=doc.filename_enc,
        )
        if admission.grant is not None or not admission.actor.role.is_staff:
            # D22: a partner gets a neutral name, named and typed by the recorded kind of the bytes.
            content_type, ext = copy_type(doc.copy_kind, label=filename)
            created = version_created_at(session, doc.version_id)
            filename = neutral_filename(doc.document_case_id, category, created, ext)
        else:  # staff: the original stem; an extension only from the allow-list, agreeing with the bytes
            filename, content_type = staff_download(filename, doc.copy_kind)
        # S1 (D10, D16): the store is asked now, before this admission commits; an outage rolls it
        # back (no retrieval used, no read recorded) and answers 503. Ciphertext only, no plaintext.
        return AdmittedRead(
            ciphertext=_start_reading(vault, doc.blob_id),
            document_id=document_id,
            case_id=doc.document_case_id,
            category=category,
            version=doc.version,
            version_id=doc.version_id,
            blob_id=doc.blob_id,
            filename=filename,
            content_type=content_type,
            length=doc.plaintext_length,
            dek=admission.dek,
            seq=admission.seq,
            grant_id=admission.grant.grant_id if admission.grant is not None else None,
        )

    return admit(
        session,
        vault,
        ctx,
        GateRequest(
            doc.document_case_id,
            Action.READ,
            category=category,
            document_id=document_id,
            break_glass_justification=break_glass_justification,
            purpose=purpose,
            grant_id=grant_id,
        ),
        tag=AuditTag.DOSSIER_DOCUMENT_READ,
        object_type="document",
        object_id=document_id,
        then=open_version,
        facts=facts,
        wrapped_key=wrapped,
        copy_refused=getattr(doc, "copy_kind", None) == REFUSE,  # (the fallback row has no version)
        details=version_read(doc),
    )


def _destroyed_since(vault: Vault, case_id: str) -> bool:
    with vault.db.session() as session:
        return session.scalar(select(Case.destroyed_at).where(Case.id == case_id)) is not None


def _start_reading(vault: Vault, blob_id: str) -> Iterator[bytes] | None:
    """The blob opened (ciphertext); None when it is missing (``open_admitted`` tells why)."""
    try:
        return vault.blobs.iter_chunks(blob_id)
    except NotFound:
        return None


def open_admitted(vault: Vault, admitted: AdmittedRead) -> OpenedDocument:
    """Decrypt an admitted document (after its audit entry committed), from the blob the admission
    opened. The header and first segment are verified here, so a wrong key or a tampered start fails
    before any byte is sent; later segments are verified one by one as they stream."""
    try:
        ciphertext = admitted.ciphertext or vault.blobs.iter_chunks(admitted.blob_id)
    except NotFound:
        # A read admitted just before its case's destruction committed finds the content removed:
        # that is the destruction, not damage (no integrity alarm).
        if _destroyed_since(vault, admitted.case_id):
            raise Destroyed("this case was destroyed; its content can no longer be read") from None
        raise Integrity("the document's stored content is missing; run `vault blobs check`") from None
    # A store that fails from here on (after the commit) is ``StoreReadFailed`` (``read_failures``).
    plaintext = decrypt_stream(admitted.dek, admitted.version_id, from_the_store(ciphertext))
    first = next(plaintext, b"")
    return OpenedDocument(
        document_id=admitted.document_id,
        version=admitted.version,
        version_id=admitted.version_id,
        category=admitted.category,
        filename=admitted.filename,
        content_type=admitted.content_type,
        length=admitted.length,
        chunks=chain([first], plaintext),
    )


def decrypt_case_field(admission: Admission, *, table: str, column: str, row_id: str, value: bytes) -> str:
    """Decrypt one personal field of an admitted case (callers run inside ``pass_gate``'s ``then``)."""
    if admission.dek is None:
        raise Forbidden("this decision does not admit reading content")
    return decrypt_text(admission.dek, table=table, column=column, row_id=row_id, value=value)


def partner_texts(
    session: Session, vault: Vault, ctx: Context, grant: Grant, screen: TextScreen
) -> dict[str, str]:
    """D22: the sealed title and purpose (a clear purpose from before 0027 too) for a verified partner of
    the grant's org while not revoked, in its audited listing; D8: minus what ``screen`` holds back."""
    sealed = {"partner_title": grant.partner_title_enc, "purpose": grant.purpose_enc}
    clear = {"purpose": grant.purpose} if grant.purpose and grant.purpose_enc is None else {}
    mine = ctx.org_id == grant.org_id and grant.revoked_at is None and ctx.role == str(Role.PARTNER)
    if not (mine and ctx.second_factor_verified and (any(sealed.values()) or clear)):
        return {}
    dek = unwrap_case_key(session, vault.keys, grant.case_id)

    def opened(*, table: str, column: str, row_id: str, value: bytes) -> str:
        return decrypt_text(dek, table=table, column=column, row_id=row_id, value=value)

    held_back = screen(session, grant, opened)
    texts = {c: opened(table="grants", column=c, row_id=grant.id, value=v) for c, v in sealed.items() if v}
    return {c: t for c, t in (clear | texts).items() if not held_back(t)}


# --- The write door: a gated write whose domain rules may still refuse ----------------------------


def gated_write(
    vault: Vault,
    ctx: Context,
    case_id: str,
    *,
    category: Category | None,
    tag: AuditTag,
    object_type: str,
    object_id: str | None,
    then: Callable[[Session, Admission], T],
    purpose: str | None = None,
) -> T:
    return pass_gate(
        vault,
        ctx,
        GateRequest(case_id, Action.WRITE, category=category, purpose=purpose),
        tag=tag,
        object_type=object_type,
        object_id=object_id,
        then=then,
    )
