"""Use cases around the log review (D21): the privacy officer's findings, staff enrolment data and
the protected flag of a case. Every call is audited; findings are for the privacy officer only.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final

from sqlalchemy import delete, insert
from sqlalchemy.orm import Session

from vault.audit import queries as audit_repo
from vault.audit.bundle import MAX_BUNDLE_ENTRIES, prove_inclusions
from vault.audit.chain import entry_hash
from vault.audit.export import ACTOR_ID_PATTERN
from vault.audit.log import hold_chain, record
from vault.audit.sealed import open_sealed, seal
from vault.context import Context
from vault.crypto.index import blind_index_address, blind_index_bsn, blind_index_person
from vault.crypto.keys import SubkeyPurpose
from vault.domain import AuditTag, Role
from vault.domain import Decision as Effect
from vault.errors import Forbidden, Integrity, InvalidInput, NotFound, StepUpRequired, VaultError
from vault.logcontrole import store
from vault.logcontrole.detectors import Detector
from vault.logcontrole.engine import Progress, ReviewResult, run_review
from vault.logcontrole.store import FindingRow, FindingStatus
from vault.models import Case, Finding, StaffIndex
from vault.repositories import access as access_repo
from vault.runtime import Vault
from vault.services.audit_reports import authorise_audit
from vault.transaction import Refusal, transaction

__all__ = [
    "COMMENT_KEPT",
    "EXPLANATION_REQUIRED",
    "MAX_COMMENT",
    "OFFICER_SET_BY_PERSON",
    "OWN_FINDING",
    "Enrolment",
    "Relation",
    "finding_detail",
    "findings",
    "record_enrolment",
    "set_case_protected",
    "set_finding_status",
    "start_review",
]

MAX_COMMENT: Final = 2000
_TABLE: Final = "logcontrole_findings"
MAX_PROOFS: Final = MAX_BUNDLE_ENTRIES  # proofs of the evidence, all from one pass over the log
_ACTOR_ID: Final = re.compile(ACTOR_ID_PATTERN)
_DETECTORS: Final = frozenset(str(d) for d in Detector)
EXPLANATION_REQUIRED: Final = "finding-explanation-required"
OWN_FINDING: Final = "own-finding"
# D21: the officer's credentials or role were set by the finding's person (``set_finding_status``).
OFFICER_SET_BY_PERSON: Final = "officer-set-by-finding-person"
OFFICER_SET_WINDOW: Final = timedelta(days=90)
# D21: the subject may escalate, but not replace the comment another officer wrote (session 18, L3).
COMMENT_KEPT: Final = "finding-comment-kept"


def start_review(
    vault: Vault, ctx: Context, start: datetime, end: datetime, progress: Progress | None = None
) -> ReviewResult:
    """The privacy officer's "review now": authorised, then ``run_review`` (which is audited)."""
    with transaction(vault.db) as session:
        authorise_audit(session, vault, ctx, AuditTag.AUDIT_REVIEW_RUN)
    return run_review(vault, ctx, start, end, progress=progress)


def findings(
    session: Session,
    vault: Vault,
    ctx: Context,
    *,
    status: str | None = None,
    detector: str | None = None,
    actor_id: str | None = None,
    after: store.FindingCursor | None = None,
    limit: int = 200,
) -> store.FindingsPage:
    """A page of findings (newest day first) with the next page's cursor and the total. The role is
    checked first; the filters are codes and ids, checked before the listing is recorded with them
    (free text would stay in the log for good)."""
    decision = authorise_audit(session, vault, ctx, AuditTag.AUDIT_FINDINGS_LISTED)
    if status is not None and status not in {s.value for s in FindingStatus}:
        raise InvalidInput("status: unknown finding status")
    if detector is not None and detector not in _DETECTORS:
        raise InvalidInput("detector: unknown detector")
    if actor_id is not None and not _ACTOR_ID.fullmatch(actor_id):
        raise InvalidInput("person: give an actor id (a UUID, system, public_form or os:<account>)")
    listed = store.findings_page(
        session, status=status, detector=detector, actor_id=actor_id, after=after, limit=limit
    )
    rows = listed.rows
    record(
        session,
        ctx,
        AuditTag.AUDIT_FINDINGS_LISTED,
        object_type="audit_finding",
        purpose="audit-review",
        rule=decision.rule,
        details={"status": status, "detector": detector, "person": actor_id, "count": len(rows)},
    )
    return listed


def finding_detail(session: Session, vault: Vault, ctx: Context, finding_id: int) -> dict[str, Any]:
    """A finding with its evidence: the audit entries, and inclusion proofs of the first few against
    the latest signed checkpoint (``None`` for an entry that no checkpoint covers yet)."""
    decision = authorise_audit(session, vault, ctx, AuditTag.AUDIT_FINDING_VIEWED)
    found = store.finding(session, finding_id)
    if found is None:
        raise NotFound("no such finding")
    seqs = store.evidence_of(session, finding_id)
    entries = [e for e in (audit_repo.entry_by_seq(session, seq) for seq in seqs) if e is not None]
    # An altered entry fails its proof: the finding stays readable and says so (session 18, L7).
    altered = [e["seq"] for e in entries if entry_hash(e) != e["entry_hash"]]
    try:
        proofs = {
            seq: None if proof is None else proof.as_dict()
            for seq, proof in prove_inclusions(vault, seqs[:MAX_PROOFS]).items()
        }
        proof_error = False
    except Integrity:
        proofs, proof_error = {}, True
    comment = open_sealed(
        vault, table=_TABLE, column="comment", row_id=str(found.id), sealed=found.comment_enc
    )
    record(
        session,
        ctx,
        AuditTag.AUDIT_FINDING_VIEWED,
        case_id=found.case_key or None,
        object_type="audit_finding",
        object_id=str(finding_id),
        purpose="audit-review",
        rule=decision.rule,
    )
    return {
        "finding": asdict(store.finding_row(found)),
        "comment": comment,
        "evidence": entries,
        "proofs": proofs,
        "history": store.verdict_history(session, finding_id),  # D21: earlier verdicts stay visible
        "proof_error": proof_error,  # the evidence does not match the signed log: tell the officer
        "altered": altered,  # evidence entries that no longer match their own hash
    }


def set_finding_status(
    session: Session, vault: Vault, ctx: Context, finding_id: int, status: str, comment: str | None
) -> FindingRow:
    """D21: the privacy officer's verdict on a finding, after a fresh second factor (a left-open session
    alone must not close what the review flagged). "Verklaard" closes a finding as benign, so it says
    why (``EXPLANATION_REQUIRED``). A finding about the officer themselves can only be escalated
    (``OWN_FINDING``, refused and audited): another officer, or whoever it is escalated to, judges it.
    So can a finding about the person who created the officer's account, reset its password or second
    factor, revoked its passkey or changed its role, from ``OFFICER_SET_WINDOW`` before the finding's
    first event until now (``OFFICER_SET_BY_PERSON``): an administrator must not judge themselves
    through an officer account they hold the credentials of."""
    decision = authorise_audit(session, vault, ctx, AuditTag.AUDIT_FINDING_STATUS_CHANGED)
    if ctx.role != "operator" and not ctx.stepped_up_within(vault.settings.step_up_minutes):
        raise StepUpRequired("a verdict on a finding needs a recent second-factor check")
    try:
        new_status = FindingStatus(status)
    except ValueError:
        raise InvalidInput("unknown finding status") from None
    text = (comment or "").strip()
    if len(text) > MAX_COMMENT:
        raise InvalidInput(f"the comment may hold at most {MAX_COMMENT} characters")
    if new_status is FindingStatus.EXPLAINED and not text:
        raise InvalidInput("an explained finding needs a comment saying why", rule=EXPLANATION_REQUIRED)
    # The chain lock before the finding is read, as a review takes it before it writes findings:
    # one order of the two locks, so a verdict and a review at once never deadlock (session 18, L6).
    hold_chain(session)
    found = store.finding(session, finding_id)
    if found is None:
        raise NotFound("no such finding")
    rule: str | None = None
    if new_status is not FindingStatus.ESCALATED:
        rule = _subject_rule(session, ctx, found)
    elif text and found.comment_enc is not None and _subject_rule(session, ctx, found) is not None:
        rule = COMMENT_KEPT  # the subject escalates, but does not replace another's comment (L3)
    own = rule is not None
    if not own:
        found.status = new_status.value
        found.status_by = ctx.actor_id
        found.status_at = ctx.now()
        if text:
            found.comment_enc = seal(vault, table=_TABLE, column="comment", row_id=str(found.id), text=text)
        session.flush()
    record(
        session,
        ctx,
        AuditTag.AUDIT_FINDING_STATUS_CHANGED,
        case_id=found.case_key or None,
        object_type="audit_finding",
        object_id=str(finding_id),
        purpose="audit-review",
        decision=Effect.DENY if own else Effect.ALLOW,
        rule=rule if own else decision.rule,
        details={"status": new_status.value}
        if own
        else {"status": new_status.value, "commented": bool(text)},
    )
    if rule == OWN_FINDING:
        raise Refusal(Forbidden("a finding about oneself can only be escalated", rule=OWN_FINDING))
    if rule == COMMENT_KEPT:
        why = "a finding about oneself can be escalated, but its comment is not theirs to replace"
        raise Refusal(Forbidden(why, rule=COMMENT_KEPT))
    if own:
        why = "a finding about whoever set this officer's credentials or role can only be escalated"
        raise Refusal(Forbidden(why, rule=rule))
    return store.finding_row(found)


def _subject_rule(session: Session, ctx: Context, found: Finding) -> str | None:
    """Why the officer ``ctx`` is a subject of the finding (None: they are not): it is about them, or
    one of its evidence entries is theirs (a spike's reader: L2); or its person set their account's
    credentials or role (``OFFICER_SET_BY_PERSON``)."""
    if ctx.actor_id is None:
        return None
    if found.actor_key == ctx.actor_id or store.evidence_names(session, found.id, ctx.actor_id):
        return OWN_FINDING
    if store.credentials_set_by(session, ctx.actor_id, found.actor_key, found.first_at - OFFICER_SET_WINDOW):
        return OFFICER_SET_BY_PERSON
    return None


# --- staff enrolment ---------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class Relation:
    """A declared relation: a BSN, or a name and date of birth. Never printed."""

    bsn: str | None = None
    name: str | None = None
    date_of_birth: date | None = None

    def __repr__(self) -> str:
        return "Relation(***)"


@dataclass(frozen=True, repr=False)
class Enrolment:
    """What a staff member records about themselves; every field optional. Never printed."""

    bsn: str | None = None
    name: str | None = None
    date_of_birth: date | None = None
    postcode: str | None = None
    house_number: str | None = None
    relations: tuple[Relation, ...] = ()

    def __repr__(self) -> str:
        return "Enrolment(***)"


_MAX_RELATIONS: Final = 20


def _indexes(vault: Vault, enrolment: Enrolment) -> set[tuple[str, str]]:
    key = vault.keys.subkey(SubkeyPurpose.BLIND_INDEX)
    found: set[tuple[str, str]] = set()
    if enrolment.bsn:
        found.add(("self_bsn", blind_index_bsn(key, enrolment.bsn)))
    if enrolment.name and enrolment.date_of_birth:
        found.add(("self_person", blind_index_person(key, enrolment.name, enrolment.date_of_birth)))
    if bool(enrolment.postcode) != bool(enrolment.house_number):
        raise InvalidInput("give both postcode and house number, or neither")
    if enrolment.postcode and enrolment.house_number:
        found.add(("address", blind_index_address(key, enrolment.postcode, enrolment.house_number)))
    if len(enrolment.relations) > _MAX_RELATIONS:
        raise InvalidInput(f"at most {_MAX_RELATIONS} relations")
    for relation in enrolment.relations:
        if relation.bsn:
            found.add(("relation_bsn", blind_index_bsn(key, relation.bsn)))
        elif relation.name and relation.date_of_birth:
            found.add(("relation_person", blind_index_person(key, relation.name, relation.date_of_birth)))
        else:
            raise InvalidInput("a relation needs a BSN, or a name and a date of birth")
    return found


def record_enrolment(vault: Vault, ctx: Context, enrolment: Enrolment) -> int:
    """A staff member records their own data (replacing what they gave before); only the keyed
    blind indexes are stored. Returns how many indexes are kept; audited with that count only."""
    indexes = _indexes(vault, enrolment)
    with transaction(vault.db) as session:
        actor = access_repo.actor_facts(session, ctx)
        if actor is None or not actor.role.is_staff:
            record(
                session,
                ctx,
                AuditTag.AUTH_ENROLMENT_RECORDED,
                object_type="user",
                object_id=ctx.actor_id,
                decision=Effect.DENY,
                rule="d21-staff-only",
            )
            raise Refusal(Forbidden("only staff record enrolment data for the log review"))
        session.execute(delete(StaffIndex).where(StaffIndex.user_id == actor.id))
        if indexes:
            session.execute(
                insert(StaffIndex),
                [
                    {"user_id": actor.id, "kind": k, "value": v, "created_at": ctx.now()}
                    for k, v in sorted(indexes)
                ],
            )
        record(
            session,
            ctx,
            AuditTag.AUTH_ENROLMENT_RECORDED,
            object_type="user",
            object_id=actor.id,
            details={"indexes": len(indexes)},
        )
    return len(indexes)


def set_case_protected(vault: Vault, ctx: Context, case_id: str, protected: bool) -> None:
    """Mark a case protected (or not): a team leader of the case's team, or the privacy officer."""
    with transaction(vault.db) as session:
        actor = access_repo.actor_facts(session, ctx)
        case = session.get(Case, case_id)
        allowed = (
            actor is not None
            and case is not None
            and (
                actor.role is Role.PRIVACY_OFFICER
                or (actor.role is Role.TEAMLEIDER and case.team_id in actor.team_ids)
            )
        )
        if not allowed or case is None:
            record(
                session,
                ctx,
                AuditTag.DOSSIER_CASE_PROTECTION_CHANGED,
                case_id=case_id if case is not None else None,
                object_type="case",
                decision=Effect.DENY,
                rule="d21-teamleader-or-fg",
            )
            error: VaultError = (
                NotFound("no such case") if case is None else Forbidden("only a team leader or the FG may")
            )
            raise Refusal(error)
        case.protected = protected
        record(
            session,
            ctx,
            # The officer's change is oversight, left out of the staff's timeline (it would tip off a
            # colleague under review); a team leader's is the team's own business.
            AuditTag.AUDIT_CASE_PROTECTION_CHANGED
            if actor is not None and actor.role is Role.PRIVACY_OFFICER
            else AuditTag.DOSSIER_CASE_PROTECTION_CHANGED,
            case_id=case_id,
            object_type="case",
            object_id=case_id,
            details={"protected": protected},
        )
