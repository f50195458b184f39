"""Disclosures to partners (D8, D9, D10, D22, D23): scoped grants, revocation, extension.

A grant names parts of one case (categories and/or documents), one recipient organisation, one
purpose and one legal basis (a statutory code whose organisation types fit the recipient, or
consent: the id of a recorded, unwithdrawn ``share_with_partner`` consent of the case that names
this recipient; withdrawing it revokes the grant), a validity window and a number of retrievals.
Partners read granted documents through the gate; creating, extending and revoking grants are
audited with stable ids, so "who could see this case on that day" can be answered from the log.
What the partner sees of a grant (its inbox and history) is ``vault.services.partner_view``: a title
staff chose for the partner and the purpose (both sealed under the case key, never logged: D18, D22)
and the Veilig Thuis contact.
The contact (D23) and the municipality's basis (D9) are checked by ``disclosure_rules``.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from vault.audit import record
from vault.audit.log import hold_chain
from vault.context import Context
from vault.crypto.envelope import DataKey
from vault.crypto.fields import encrypt_text
from vault.domain import Action, AuditTag, Category, OrgType, Role
from vault.domain import Decision as Effect
from vault.errors import Forbidden, InvalidInput, NotFound, VaultError
from vault.models import Case, Document, Grant, GrantItem, Organisation, ReporterIdentity
from vault.policy import Decision, default_legal_bases
from vault.runtime import Vault
from vault.services.disclosure_changes import extend_disclosure, require_step_up, revoke_disclosure
from vault.services.disclosure_overlap import live_overlap
from vault.services.disclosure_register import (
    ConsentChoice,
    ReporterFeedback,
    read_case,
    reporter_feedback,
    sharing_consents,
)
from vault.services.disclosure_requests import (
    DisclosureInvalid,
    DisclosureRefused,
    DisclosureRequest,
    DuplicateDisclosure,
    GrantView,
    admitted_view,
    grant_view,
    opened_purpose,
)
from vault.services.disclosure_rules import (
    CONTACT_NAME_MAX,
    CONTACT_PHONE_MAX,
    basis_holds,
    contact_problem,
)
from vault.services.gate import Admission, GateRequest, RuleRefused, admit, decide, refusal, refuse
from vault.services.person_fields import unfit_characters
from vault.services.reporter_mentions import reporter_mentions

__all__ = [
    "NAMES_REPORTER",
    "ConsentChoice",
    "DisclosureInvalid",
    "DisclosureRefused",
    "DisclosureRequest",
    "DuplicateDisclosure",
    "GrantView",
    "ReporterFeedback",
    "create_disclosure",
    "disclose_in_transaction",
    "extend_disclosure",
    "grant_view",
    "list_case_disclosures",
    "reporter_feedback",
    "revoke_disclosure",
    "seal_purpose",
    "sharing_consents",
]

T = TypeVar("T")

MAX_RETRIEVALS = 100
_NEVER_DISCLOSED = frozenset({Category.MEDICAL})
NAMES_REPORTER = "d8-partner-text-names-reporter"  # the rule of a partner text naming the reporter


def _check_shape(vault: Vault, req: DisclosureRequest) -> int:
    if not req.categories and not req.document_ids:
        raise DisclosureInvalid("a disclosure names at least one category or document (D10)", field="parts")
    if not req.purpose.strip() or len(req.purpose) > 64:
        raise DisclosureInvalid("a disclosure states its purpose (1 to 64 characters)", field="purpose")
    if not 1 <= req.max_retrievals <= MAX_RETRIEVALS:
        raise DisclosureInvalid(f"max_retrievals must be 1 to {MAX_RETRIEVALS}", field="max_retrievals")
    days = vault.settings.disclosure_default_days if req.valid_days is None else req.valid_days
    if not 1 <= days <= vault.settings.disclosure_max_days:
        raise DisclosureInvalid(
            f"a disclosure is valid 1 to {vault.settings.disclosure_max_days} days", field="valid_days"
        )
    if req.categories & _NEVER_DISCLOSED:
        raise DisclosureInvalid("medical documents are never disclosed to partners", field="parts")
    if Category.REPORTER_IDENTITY in req.categories and not req.include_reporter_identity:
        raise DisclosureInvalid(
            "the reporter's identity is only disclosed when asked for explicitly (D8)", field="parts"
        )
    lines = (
        ("purpose", req.purpose, 64),
        ("partner_title", req.partner_title, 200),
        ("contact_name", req.contact_name, CONTACT_NAME_MAX),
        ("contact_phone", req.contact_phone, CONTACT_PHONE_MAX),
    )
    for name, text, limit in lines:
        # D22: what the partner reads is what is stored: no control (C0, DEL, C1) or bidi character, and
        # not only invisible ones (``person_fields.unfit_characters``, as for names and titles)
        if text and text.strip() and (len(text) > limit or unfit_characters(text)):  # blank: below
            raise DisclosureInvalid(
                f"{name}: one line of at most {limit} visible characters, no control or direction characters",
                field=name,
            )
    problem = contact_problem(req.contact_name, req.contact_phone)
    if problem is not None:
        raise DisclosureInvalid(problem.message, field=problem.field, rule=problem.rule)
    return days


def _reporter_release_recorded(session: Session, case_id: str) -> bool:
    """D8: the reporter consented; or, for a professional reporter only, staff released it with a reason.

    No reporter record (an anonymous report) means there is nothing that may be disclosed.
    """
    reporter = session.get(ReporterIdentity, case_id)
    if reporter is None:
        return False
    return reporter.consent_to_disclose or (reporter.professional and reporter.released_at is not None)


@dataclass(frozen=True)
class _Verdict:
    """What ``_evaluate`` decided: the decision (its rule goes into the log), the error to raise when
    refused, whether the reporter's identity is released (D8), and for a refused document its id (one
    the database holds, never what a client typed) for the denied entry."""

    decision: Decision
    refused: VaultError | None
    release: bool = False
    document_id: str | None = None


def _evaluate(session: Session, vault: Vault, ctx: Context, req: DisclosureRequest) -> _Verdict:
    """Every check of a disclosure. First DISCLOSE on the case for this actor (a gate decision): to one
    who may not disclose, every refusal is the gate's one answer (404 for non-staff), so the order of
    the checks tells nothing of the case — whether it exists, what a consent id belongs to, whether
    the board was asked (D10). Only then the named documents (D10), the D9 basis for the recipient's
    type, the D8 release and DISCLOSE per covered category, each with its own reason."""
    actor, case_facts, _grant, decision = decide(
        session, vault, ctx, GateRequest(req.case_id, Action.DISCLOSE, purpose=req.purpose)
    )
    if not decision.allowed:
        return _Verdict(decision, refusal(actor, case_facts, decision))
    org = session.get(Organisation, req.org_id)
    if org is None:
        raise NotFound("no such case or organisation")
    documents = (
        session.execute(
            select(Document.id, Document.category, Document.case_id).where(Document.id.in_(req.document_ids))
        ).all()
        if req.document_ids
        else []
    )
    own = {doc_id: Category(cat) for doc_id, cat, case_id in documents if case_id == req.case_id}
    if set(req.document_ids) - own.keys():
        # D10: a document of another case (or no document at all): refused and audited (D21 probing).
        foreign = sorted(doc_id for doc_id, _, case_id in documents if case_id != req.case_id)
        return _Verdict(
            Decision(False, "d10-document-not-in-case", "a named document does not belong to this case"),
            NotFound("a named document does not belong to this case"),
            document_id=foreign[0] if foreign else None,
        )
    medical = sorted(doc_id for doc_id, category in own.items() if category in _NEVER_DISCLOSED)
    if medical:
        return _Verdict(
            Decision(False, "d10-medical-never-disclosed", "medical documents are never disclosed"),
            InvalidInput("medical documents are never disclosed to partners"),
            document_id=medical[0],
        )
    covered = set(req.categories) | set(own.values())
    # D8: a grant releases the reporter's identity only when it carries it (the category, or a document
    # of it); the flag alone releases nothing, so its texts are checked and its entries say "false"
    release = (
        req.include_reporter_identity
        and Category.REPORTER_IDENTITY in covered
        and _reporter_release_recorded(session, req.case_id)
    )
    decision = basis_holds(  # D9, as an extension checks it again
        session,
        ctx,
        case_id=req.case_id,
        org_id=req.org_id,
        org_type=OrgType(org.org_type),
        legal_basis=req.legal_basis,
        consent_id=_consent_id(req),
    )
    if decision.allowed and Category.REPORTER_IDENTITY in covered and not release:
        decision = Decision(False, "d8-no-release", "the reporter's identity has no consent or release")
    if not decision.allowed:
        refused = DisclosureRefused(f"disclosure refused: {decision.reason}", rule=decision.rule)
        return _Verdict(decision, refused, release)
    for category in sorted(covered):
        actor, case_facts, _grant, decision = decide(
            session,
            vault,
            ctx,
            GateRequest(
                req.case_id,
                Action.DISCLOSE,
                category=category,
                purpose=req.purpose,
                reporter_identity_release=release,
            ),
        )
        if not decision.allowed:
            return _Verdict(decision, refusal(actor, case_facts, decision), release)
    return _Verdict(decision, None, release)


def _consent_id(req: DisclosureRequest) -> str | None:
    """The recorded consent a grant on a consent basis rests on (D9); ``None`` for a statutory basis."""
    basis = default_legal_bases().get(req.legal_basis)
    if basis is None or not basis.requires_consent_reference or req.consent_reference is None:
        return None
    return req.consent_reference.strip() or None


def seal_purpose(dek: DataKey, grant_id: str, purpose: str) -> bytes:
    """D18, D22: a grant's purpose sealed under its case key and bound to its row, the one binding for a
    new grant (``_seal_texts``) and for one made before migration 0027 (``purpose_sealing``)."""
    return encrypt_text(dek, table="grants", column="purpose", row_id=grant_id, value=purpose)


def _seal_texts(session: Session, vault: Vault, ctx: Context, grant: Grant, purpose: str, title: str) -> None:
    """D18, D22: the purpose and the partner-facing title are free text that can name people, sealed under
    the case key like document titles (so a backup holds them only while the case key's epoch lives).
    The key comes through the gate's write door (the allow is audited by ``disclosure:grant:created``)."""

    def seal(_session: Session, admission: Admission) -> None:
        assert admission.dek is not None
        # D8: the partner reads these texts; one that names the reporter (without consent or release) is
        # refused before anything is sealed or granted, the text never in the reason (``reporter_mentions``)
        mentions = reporter_mentions(_session, admission, grant.case_id)
        for field, typed in (("partner_title", title), ("purpose", purpose)):
            if not grant.reporter_identity_released and mentions.named_in(typed):
                raise DisclosureInvalid(
                    f"{field}: names the reporter, who is not disclosed to a partner (D8)",
                    field=field,
                    rule=NAMES_REPORTER,
                )
        grant.purpose_enc = seal_purpose(admission.dek, grant.id, purpose)
        if title:
            grant.partner_title_enc = encrypt_text(
                admission.dek, table="grants", column="partner_title", row_id=grant.id, value=title
            )

    admit(
        session,
        vault,
        ctx,
        GateRequest(grant.case_id, Action.WRITE),
        tag=AuditTag.DISCLOSURE_GRANT_CREATED,
        object_type="grant",
        object_id=grant.id,
        then=seal,
        audit_allow=False,
    )


def _insert(
    session: Session,
    vault: Vault,
    ctx: Context,
    req: DisclosureRequest,
    *,
    days: int,
    release: bool,
    rule: str,
) -> GrantView:
    now = ctx.now()
    grant = Grant(
        id=str(uuid.uuid4()),
        case_id=req.case_id,
        org_id=req.org_id,
        purpose="",  # sealed in purpose_enc (below); the clear column stays empty (migration 0027)
        legal_basis=req.legal_basis,
        consent_id=_consent_id(req),
        valid_from=now,
        valid_until=now + timedelta(days=days),
        max_retrievals=req.max_retrievals,
        retrievals_used=0,
        reporter_identity_released=release,
        created_at=now,
        created_by=ctx.actor_id,
        contact_name=req.contact_name.strip(),
        contact_phone=req.contact_phone.strip(),
    )
    session.add(grant)
    session.flush()
    _seal_texts(session, vault, ctx, grant, req.purpose.strip(), (req.partner_title or "").strip())
    session.add_all(
        [GrantItem(grant_id=grant.id, kind="category", ref=str(c)) for c in sorted(req.categories)]
        + [GrantItem(grant_id=grant.id, kind="document", ref=d) for d in sorted(req.document_ids)]
    )
    session.flush()
    record(
        session,
        ctx,
        AuditTag.DISCLOSURE_GRANT_CREATED,
        case_id=req.case_id,
        object_type="grant",
        object_id=grant.id,
        legal_basis=req.legal_basis,
        # The purpose is text a person typed: it is sealed in the grant row, the log holds ids and codes.
        rule=rule,
        details={
            "org_id": req.org_id,
            "valid_days": days,
            "max_retrievals": req.max_retrievals,
            "reporter_identity": release,
            "duplicate_confirmed": req.confirm_duplicate,
        },
    )
    return grant_view(session, grant, purpose=req.purpose.strip())


def _known_basis(code: str) -> str:
    """A basis code for the log: one of the fixed list, never what a client typed otherwise."""
    return code if code in default_legal_bases().codes else "unknown"


# Concurrency of disclosures (PostgreSQL at READ COMMITTED; on SQLite every transaction is
# BEGIN IMMEDIATE, one writer at a time, so none of this is needed there):
#
# * Creating: the duplicate check (``_twin``) and the insert are serialised per case by a
#   transaction-scoped advisory lock (``_lock_case_disclosures``), so of N identical disclosures sent
#   at once exactly one is created and the others see it and are held back. Lock order: the case's
#   disclosure lock is the FIRST statement of ``create_disclosure``'s transaction, before anything
#   records an audit entry (which takes the audit log's global advisory lock, ``vault.audit``). So it
#   is always "case disclosure lock, then audit lock", and no transaction ever holds the audit lock
#   while waiting for a case disclosure lock: nothing else takes it. A triage handover
#   (``disclose_in_transaction``) does not take it: its gated write has recorded its entry (holds the
#   audit lock) already, and it never checks for duplicates, so serialising it buys nothing.
#   The two-key form of the advisory lock is a key space of its own: it never meets the audit lock's
#   or the intake's one-key locks.
#   After the case lock, the audit chain's lock (``hold_chain``), before the facts are read: a consent
#   withdrawn or a case destroyed just before is seen (both record an entry, so they hold the chain
#   until they commit, and close the grants they find; a grant created behind them must see them).
# * Revoking and extending change a grant with one conditional UPDATE ``… WHERE revoked_at IS NULL``
#   (like ``access.consume_retrieval``): its row count decides, so a revoked grant is never extended
#   and a grant is revoked (and audited) once. Lock order: the audit chain first (``hold_chain`` in
#   ``disclosure_changes``, before the facts), then the grant's row — as a partner's retrieval (the
#   gate holds the chain before ``consume_retrieval``), a destruction and a consent withdrawal (both
#   record, then close grants) take them; so none of these can wait for another in a cycle.
_CASE_DISCLOSURE_LOCK = 0x56544453  # "VTDS": the first key of pg_advisory_xact_lock(int, int)
_PG_CASE_LOCK = sql_text("SELECT pg_advisory_xact_lock(CAST(:space AS integer), CAST(:key AS integer))")


def _lock_case_disclosures(session: Session, case_id: str) -> None:
    """PostgreSQL: hold the case's disclosure lock until the transaction ends (see above). Two cases
    whose ids hash alike only share a lock, which costs waiting, never correctness."""
    if session.get_bind().dialect.name != "postgresql":
        return
    key = int.from_bytes(hashlib.sha256(case_id.encode()).digest()[:4], "big", signed=True)
    session.execute(_PG_CASE_LOCK, {"space": _CASE_DISCLOSURE_LOCK, "key": key})


def create_disclosure(vault: Vault, ctx: Context, req: DisclosureRequest) -> GrantView:
    """Create a grant after the policy (DISCLOSE on the case, then on every covered category) and the
    D9 basis check (order and reasons: ``_evaluate``).

    A refusal is audited (``disclosure:grant:denied``, with the rule; ids only) and raised; nothing is
    granted. One who may not disclose gets the gate's answer (404 for non-staff); a named medical
    document is refused with 400 (``d10-medical-never-disclosed``), one of another case with 404
    (``d10-document-not-in-case``), both audited like the rest.
    Unless ``confirm_duplicate``, a disclosure that would duplicate a live one to the same organisation
    is held back (``disclosure:grant:duplicate-warned``) and raises ``DuplicateDisclosure``; the check
    and the insert are serialised per case, so sent several times at once it is created once.
    """
    days = _check_shape(vault, req)
    require_step_up(vault, ctx)
    refused: Exception | None = None
    view: GrantView | None = None
    with vault.db.session() as session:
        # First, before any audit entry of this transaction: the lock order is case, then audit log.
        _lock_case_disclosures(session, req.case_id)
        hold_chain(session)  # then the audit chain, before the facts (see above)
        verdict = _evaluate(session, vault, ctx, req)
        refused = verdict.refused
        if refused is not None:
            # Nothing else was written in this transaction: the entry commits, then the refusal is
            # raised. Ids only: the case and the organisation as the database has them.
            record(
                session,
                ctx,
                AuditTag.DISCLOSURE_GRANT_DENIED,
                case_id=req.case_id if session.get(Case, req.case_id) is not None else None,
                object_type="organisation",
                object_id=req.org_id if session.get(Organisation, req.org_id) is not None else None,
                legal_basis=_known_basis(req.legal_basis),
                decision=Effect.DENY,
                rule=verdict.decision.rule,
                details={"document_id": verdict.document_id} if verdict.document_id else None,
            )
        elif (twin := _twin(session, ctx, req)) is not None:
            # The warning shows the live disclosure, its sealed purpose too: an audited read of it.
            tag = AuditTag.DISCLOSURE_GRANT_DUPLICATE_WARNED
            details: dict[str, int | str] = {"org_id": req.org_id}
            refused = DuplicateDisclosure(admitted_view(session, vault, ctx, twin, tag=tag, details=details))
        else:
            rule = verdict.decision.rule
            view = _insert(session, vault, ctx, req, days=days, release=verdict.release, rule=rule)
    if refused is not None:
        raise refused
    assert view is not None
    return view


def _twin(session: Session, ctx: Context, req: DisclosureRequest) -> Grant | None:
    """The live disclosure this one would duplicate. Confirmed against the one the warning showed
    (``confirmed_duplicate_of``), only that one is let through: a double submit of "Toch delen" finds
    the disclosure its first post made, and is held back again (one grant, not two)."""
    if req.confirm_duplicate and req.confirmed_duplicate_of is None:
        return None
    return live_overlap(
        session,
        case_id=req.case_id,
        org_id=req.org_id,
        categories=frozenset(str(c) for c in req.categories),
        document_ids=req.document_ids,
        now=ctx.now(),
        excluding=req.confirmed_duplicate_of if req.confirm_duplicate else None,
    )


def disclose_in_transaction(
    session: Session, vault: Vault, ctx: Context, req: DisclosureRequest
) -> GrantView:
    """The same disclosure inside the caller's transaction (e.g. a triage handover, D6).

    A refusal raises, so the caller's whole change rolls back with it; every refusal ``_evaluate``
    decides (policy, D10 documents, D8/D9) is raised as ``RuleRefused``, so the caller's gated write
    audits it with its rule after the rollback.
    """
    days = _check_shape(vault, req)
    require_step_up(vault, ctx)
    verdict = _evaluate(session, vault, ctx, req)
    if verdict.refused is not None:
        raise RuleRefused(verdict.refused, verdict.decision.rule)
    rule = verdict.decision.rule
    return _insert(session, vault, ctx, req, days=days, release=verdict.release, rule=rule)


def list_case_disclosures(vault: Vault, ctx: Context, case_id: str) -> list[GrantView]:
    """The case's disclosure register (recipients, bases, purposes): READ on the case, audited in the
    same transaction (``disclosure:register:read``); no entry, no register (fail closed). Staff only:
    the professional who asked advice reads the advice case, not whom Veilig Thuis shared it with and
    why (D3; refused and audited, rule ``d3-register-staff-only``)."""
    if not ctx.role or not Role(ctx.role).is_staff:
        refuse(
            vault,
            ctx,
            Forbidden("the disclosure register is for Veilig Thuis staff"),
            rule="d3-register-staff-only",
            attempted=AuditTag.DISCLOSURE_REGISTER_READ,
            case_id=case_id,
        )

    def grants(session: Session, admission: Admission) -> list[GrantView]:
        rows = session.scalars(select(Grant).where(Grant.case_id == case_id).order_by(Grant.created_at))
        return [grant_view(session, g, purpose=opened_purpose(admission, g)) for g in rows.all()]

    return read_case(vault, ctx, case_id, AuditTag.DISCLOSURE_REGISTER_READ, grants)
