"""The privacy officer's view of the audit log (D15, D16, D20): searches, reports, reviews, proofs.

Every call decides through the policy (``Action.AUDIT`` on the log as a system object: only the
privacy officer is allowed) and is itself audited in the caller's transaction. A refusal is audited
and raised through ``Refusal`` so its entry commits. These functions return log data only — ids,
codes, times, and for the D15 report the names of *users and organisations* resolved at report time
from the account tables; never case content and never anything decrypted.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vault.audit import break_glass as emergency
from vault.audit import queries as audit_repo
from vault.audit.checkpoints import latest_checkpoint
from vault.audit.export import check_filter_terms, matched_terms
from vault.audit.log import DetailValue, hold_chain, record
from vault.audit.proofs import prove_inclusion
from vault.audit.queries import EntryFilter
from vault.audit.verification import IntegrityState, integrity_status
from vault.context import Context
from vault.domain import Action, AuditTag
from vault.domain import Decision as Effect
from vault.errors import Conflict, Forbidden, InvalidInput, NotFound
from vault.models import AuditEntry, BreakGlassReview, Case
from vault.policy import Decision, DecisionContext, Target
from vault.repositories import access as access_repo
from vault.runtime import Vault
from vault.services.integrity_check import full_verification
from vault.transaction import Refusal, transaction
from vault.witness.client import cosigned_note, witness_status

__all__ = [
    "MAX_PAGE",
    "ReviewOutcome",
    "authorise_audit",
    "break_glass_list",
    "case_access_report",
    "checkpoint_view",
    "inclusion_proof_view",
    "integrity_view",
    "require_known_case",
    "require_privacy_officer",
    "review_break_glass",
    "search_log",
    "start_full_verification",
]

MAX_PAGE = 500


class ReviewOutcome(StrEnum):
    """D20: the privacy officer's finding on one break-the-glass access (a code, never free text)."""

    JUSTIFIED = "justified"
    UNJUSTIFIED = "unjustified"
    NEEDS_FOLLOWUP = "needs_followup"


def authorise_audit(session: Session, vault: Vault, ctx: Context, attempted: AuditTag) -> Decision:
    """Allow only an actor the policy lets AUDIT (the privacy officer); audit and refuse anyone else."""
    actor = access_repo.actor_facts(session, ctx)
    if actor is None:
        decision = Decision(False, "unknown-actor", "unknown or disabled account")
    else:
        decision = vault.policy.decide(
            actor, Target(None, None, None), Action.AUDIT, DecisionContext(now=ctx.now())
        )
    if not decision.allowed:
        record(
            session,
            ctx,
            AuditTag.AUDIT_ACCESS_DENIED,
            object_type="audit_log",
            decision=Effect.DENY,
            rule=decision.rule,
            details={"attempted": str(attempted)},
        )
        raise Refusal(Forbidden("only the privacy officer may read the audit log", rule=decision.rule))
    return decision


def require_privacy_officer(vault: Vault, ctx: Context, attempted: AuditTag) -> None:
    """``authorise_audit`` in a transaction of its own, for a page that must refuse anyone else before
    it reads what was submitted: a typed reference or username is resolved over every case and
    account, so checking it first would tell a stranger what exists. The refusal is committed."""
    with transaction(vault.db) as session:
        authorise_audit(session, vault, ctx, attempted)


def require_known_case(session: Session, case_id: str) -> None:
    """D15: a report, PDF or bundle is about a case the vault has (a destroyed one too: its row stays)
    or one the log names (a refused attempt on that id); for any other id ``NotFound``, and nothing is
    recorded — a mistyped link must not give the family a signed "nobody saw your dossier"."""
    if session.get(Case, case_id) is not None:
        return
    named = select(AuditEntry.seq).where(AuditEntry.case_id == case_id).limit(1)
    if session.execute(named).first() is None:
        raise NotFound("no case with this id")


def _audit(
    session: Session,
    ctx: Context,
    decision: Decision,
    tag: AuditTag,
    *,
    case_id: str | None = None,
    object_type: str = "audit_log",
    object_id: str | None = None,
    details: dict[str, DetailValue] | None = None,
) -> None:
    record(
        session,
        ctx,
        tag,
        case_id=case_id,
        object_type=object_type,
        object_id=object_id,
        purpose="audit-review",
        rule=decision.rule,
        details=details,
    )


def _page_limit(limit: int) -> int:
    return max(1, min(limit, MAX_PAGE))


def _filter_details(filters: EntryFilter) -> dict[str, DetailValue]:
    return {
        "case_filter": filters.case_id,
        "actor_filter": filters.actor_id,
        "cases_matched": None if filters.case_ids is None else len(filters.case_ids),
        "actors_matched": None if filters.actor_ids is None else len(filters.actor_ids),
        "tag_filter": filters.tag,
        "decision_filter": filters.decision,
        "break_glass_filter": filters.break_glass,
        "from": filters.since.isoformat() if filters.since else None,
        "to": filters.until.isoformat() if filters.until else None,
        **matched_terms(filters),
    }


def search_log(
    session: Session,
    vault: Vault,
    ctx: Context,
    filters: EntryFilter,
    *,
    after_seq: int = 0,
    limit: int = 100,
) -> dict[str, Any]:
    """One page of matching entries (oldest first, ``seq > after_seq``) and the cursor for the next.

    The role is checked first (a refusal is audited, whatever the terms); then a term that is not an
    id or code of the log is refused before anything is recorded (``check_filter_terms``)."""
    decision = authorise_audit(session, vault, ctx, AuditTag.AUDIT_LOG_SEARCHED)
    check_filter_terms(filters)
    limit = _page_limit(limit)
    entries = audit_repo.search_entries(session, filters, after_seq=after_seq, limit=limit)
    _audit(
        session,
        ctx,
        decision,
        AuditTag.AUDIT_LOG_SEARCHED,
        details=_filter_details(filters),
    )
    return {"entries": entries, "next_after_seq": entries[-1]["seq"] if len(entries) == limit else None}


@dataclass(frozen=True)
class AccessLine:
    """D15: one access to a case — who, when, what, on which ground, emergency or not."""

    seq: int
    occurred_at: Any
    actor_id: str | None
    username: str | None
    role: str | None
    organisation: str | None
    on_behalf_of: str | None
    access_point: str
    action: str
    object_type: str | None
    object_id: str | None
    decision: str
    legal_basis: str | None
    purpose: str | None
    rule: str | None
    break_glass: bool
    break_glass_access: int | None = None  # D20: the emergency access this read belongs to
    justification: str | None = None  # its written justification (opened for the privacy officer)


def case_access_report(
    session: Session, vault: Vault, ctx: Context, case_id: str, *, after_seq: int = 0, limit: int = MAX_PAGE
) -> dict[str, Any]:
    """D15 per-case access report; names are looked up now, the log itself holds ids only."""
    decision = authorise_audit(session, vault, ctx, AuditTag.AUDIT_ACCESS_REPORT_VIEWED)
    require_known_case(session, case_id)
    limit = _page_limit(limit)
    rows = audit_repo.access_report_rows(session, case_id, after_seq=after_seq, limit=limit)
    lines = [
        AccessLine(
            seq=r["seq"],
            occurred_at=r["occurred_at"],
            actor_id=r["actor_id"],
            username=r["actor_username"],
            role=r["actor_role"],
            organisation=r["actor_org_name"],
            on_behalf_of=r["on_behalf_of"],
            access_point=r["access_point"],
            action=r["tag"],
            object_type=r["object_type"],
            object_id=r["object_id"],
            decision=r["decision"],
            legal_basis=r["legal_basis"],
            purpose=r["purpose"],
            rule=r["rule"],
            break_glass=bool(r["break_glass"]),
        )
        for r in rows
    ]
    accesses = emergency.accesses_of_entries(session, [line.seq for line in lines if line.break_glass])
    justifications: dict[int, str | None] = {}
    for index, line in enumerate(lines):
        if line.seq in accesses:
            access, sealed = accesses[line.seq]
            if access not in justifications:
                justifications[access] = emergency.open_justification(vault, access, sealed)
            lines[index] = replace(line, break_glass_access=access, justification=justifications[access])
    _audit(
        session,
        ctx,
        decision,
        AuditTag.AUDIT_ACCESS_REPORT_VIEWED,
        case_id=case_id,
        object_type="case",
        object_id=case_id,
    )
    return {
        "case_id": case_id,
        "accesses": [line.__dict__ for line in lines],
        "next_after_seq": lines[-1].seq if len(lines) == limit else None,
    }


def break_glass_list(
    session: Session,
    vault: Vault,
    ctx: Context,
    *,
    before_seq: int | None = None,
    limit: int = 100,
    unreviewed_only: bool = False,
) -> dict[str, Any]:
    """D20: every emergency access, newest first — who, which case, the written justification, each
    read it covers — with its review (if any). See ``vault.audit.break_glass`` for what one access is."""
    decision = authorise_audit(session, vault, ctx, AuditTag.AUDIT_BREAK_GLASS_LISTED)
    limit = _page_limit(limit)
    rows = emergency.access_rows(session, before_seq=before_seq, limit=limit, unreviewed_only=unreviewed_only)
    reads = emergency.reads_of(session, [r["seq"] for r in rows])
    items = []
    for r in rows:
        seq = r["seq"]
        review = r.pop("review_outcome")
        reviewer, reviewed_at = r.pop("reviewer_id"), r.pop("reviewed_at")
        comment = r.pop("review_comment_enc")
        final = {
            name: r.pop(f"final_{name}") for name in ("outcome", "comment_enc", "reviewer_id", "reviewed_at")
        }
        justification = emergency.open_justification(vault, seq, r.pop("justification_enc"))
        listed = reads[seq] or [{k: r[k] for k in ("seq", "occurred_at", "tag", "object_type", "object_id")}]
        items.append(
            {
                **r,
                "access": seq,
                "justification": justification,
                "reads": listed,
                "read_count": len(listed),
                "last_read_at": listed[-1]["occurred_at"],
                # D20: "needs_followup" is not a verdict: the access awaits its final one.
                "reviewed": review is not None
                and (review != emergency.FOLLOWUP or final["outcome"] is not None),
                "review": None
                if review is None
                else {
                    "outcome": review,
                    "comment": emergency.open_comment(vault, seq, comment),
                    "reviewer_id": reviewer,
                    "reviewed_at": reviewed_at,
                    "final": None
                    if final["outcome"] is None
                    else {
                        "outcome": final["outcome"],
                        "comment": emergency.open_comment(
                            vault, seq, final["comment_enc"], column="final_comment"
                        ),
                        "reviewer_id": final["reviewer_id"],
                        "reviewed_at": final["reviewed_at"],
                    },
                },
            }
        )
    _audit(
        session,
        ctx,
        decision,
        AuditTag.AUDIT_BREAK_GLASS_LISTED,
        details={"unreviewed_only": unreviewed_only, "accesses": len(items)},
    )
    return {"entries": items, "next_before_seq": items[-1]["seq"] if len(items) == limit else None}


MAX_COMMENT = 2000


def review_break_glass(
    session: Session,
    vault: Vault,
    ctx: Context,
    seq: int,
    outcome: ReviewOutcome,
    comment: str | None = None,
    *,
    through_seq: int | None = None,
) -> dict[str, Any]:
    """D20: record the privacy officer's finding on one emergency access, with an optional comment
    (sealed like the justification; the audit entry says only that there is one). A verdict is given
    once; "needs_followup" is not one, so one final verdict may follow it (kept beside it).

    ``seq`` is the access's number or any of its entries (resolved to the access). ``through_seq``:
    the last read the officer was shown (the page and the API send it); reads after it move to an
    access of their own first (``emergency.split_after``), so the verdict covers what was judged.
    Without it (the command line, older callers) it covers every read the access holds now."""
    hold_chain(session)  # two officers at once: the second waits and finds the first's review (409)
    decision = authorise_audit(session, vault, ctx, AuditTag.AUDIT_BREAK_GLASS_REVIEWED)
    outcome = ReviewOutcome(outcome)
    text = (comment or "").strip()
    if len(text) > MAX_COMMENT:
        raise InvalidInput(f"the comment may hold at most {MAX_COMMENT} characters")
    access = emergency.access_seq_of(session, seq)
    entry = None if access is None else audit_repo.entry_by_seq(session, access)
    if access is None or entry is None:
        raise NotFound("no break-the-glass entry with this sequence number")
    assert ctx.actor_id is not None  # authorise_audit refused anonymous callers
    review = emergency.review_for(session, access)
    details: dict[str, DetailValue] = {"outcome": outcome.value, "commented": bool(text)}
    if review is None:
        split = None if through_seq is None else emergency.split_after(session, vault, access, through_seq)
        review = BreakGlassReview(
            seq=access,
            outcome=outcome.value,
            reviewer_id=ctx.actor_id,
            reviewed_at=ctx.now(),
            comment_enc=emergency.seal_comment(vault, access, text) if text else None,
        )
        session.add(review)
        if split is not None:
            details["later_reads_access"] = split
        shown = (review.outcome, review.reviewer_id, review.reviewed_at)
    elif review.outcome == emergency.FOLLOWUP and review.final_outcome is None:
        if outcome is ReviewOutcome.NEEDS_FOLLOWUP:
            raise Conflict("this emergency access is already marked for follow-up; record the final verdict")
        review.final_outcome, review.final_reviewer_id, review.final_reviewed_at = (
            outcome.value,
            ctx.actor_id,
            ctx.now(),
        )
        if text:
            review.final_comment_enc = emergency.seal_comment(vault, access, text, column="final_comment")
        details["after_followup"] = True
        shown = (review.final_outcome, review.final_reviewer_id, review.final_reviewed_at)
    else:
        raise Conflict("this emergency access was already reviewed")
    session.flush()
    _audit(
        session,
        ctx,
        decision,
        AuditTag.AUDIT_BREAK_GLASS_REVIEWED,
        case_id=entry["case_id"],
        object_type="audit_entry",
        object_id=str(access),
        details=details,
    )
    return {
        "seq": access,
        "access": access,
        "outcome": shown[0],
        "comment": text or None,
        "reviewer_id": shown[1],
        "reviewed_at": shown[2],
    }


def integrity_view(session: Session, vault: Vault, ctx: Context) -> dict[str, Any]:
    """Cheap status: latest checkpoint checked, the chain after it re-walked, the last full verify.

    ``ok`` (green) only when the last full verification passed *and* the cheap check holds; ``state``
    says which (``vault.audit.verification.IntegrityState``), ``chain_ok`` is the cheap check alone,
    ``full_verify_job`` the privacy officer's background verification in this process."""
    decision = authorise_audit(session, vault, ctx, AuditTag.AUDIT_INTEGRITY_VIEWED)
    status = integrity_status(vault)
    state = status.state
    _audit(
        session,
        ctx,
        decision,
        AuditTag.AUDIT_INTEGRITY_VIEWED,
        details={"ok": status.ok, "state": state.value},
    )
    cp = status.checkpoint
    return {
        "ok": state is IntegrityState.OK,
        "state": state.value,
        "chain_ok": status.ok,
        "full_verify_job": full_verification(vault).state().as_dict(),
        "entries": status.entries,
        "checked_from_seq": status.checked_from_seq,
        "first_bad_seq": status.first_bad_seq,
        "reason": status.reason,
        "latest_checkpoint": None
        if cp is None
        else {"size": cp.size, "root_hash": cp.root_hash, "note": cp.note, "created_at": cp.created_at},
        "last_full_verify": status.last_full_verify,
        # The first entry neither the last full verification nor this check read (``partly_verified``).
        "unchecked_from": status.unchecked_from,
        # Which witnesses cosigned the latest checkpoint; a missing cosignature is named here.
        "witnesses": witness_status(vault, cp),
    }


def start_full_verification(vault: Vault, ctx: Context) -> dict[str, Any]:
    """Start a full verification in the background (the privacy officer only; one at a time): audited
    when started, its result recorded and audited when it ends (``record_verification``)."""
    runner = full_verification(vault)
    with runner.starting:  # a double click: the second waits, then finds the first running
        with transaction(vault.db) as session:
            decision = authorise_audit(session, vault, ctx, AuditTag.AUDIT_LOG_VERIFY_STARTED)
            if runner.running:
                raise Conflict("a full verification is already running")
            _audit(session, ctx, decision, AuditTag.AUDIT_LOG_VERIFY_STARTED)
        runner.start(ctx)
    return runner.state().as_dict()


def checkpoint_view(session: Session, vault: Vault, ctx: Context) -> dict[str, Any]:
    decision = authorise_audit(session, vault, ctx, AuditTag.AUDIT_CHECKPOINT_VIEWED)
    cp = latest_checkpoint(vault)
    if cp is None:
        raise NotFound("no checkpoint has been signed yet")
    _audit(
        session,
        ctx,
        decision,
        AuditTag.AUDIT_CHECKPOINT_VIEWED,
        object_type="checkpoint",
        object_id=str(cp.size),
    )
    return {
        "size": cp.size,
        "root_hash": cp.root_hash,
        "note": cp.note,
        "cosigned_note": cosigned_note(vault, cp),
        "created_at": cp.created_at,
    }


def inclusion_proof_view(
    session: Session, vault: Vault, ctx: Context, seq: int, *, size: int | None = None
) -> dict[str, Any]:
    decision = authorise_audit(session, vault, ctx, AuditTag.AUDIT_PROOF_ISSUED)
    proof = prove_inclusion(vault, seq, size=size)
    _audit(
        session,
        ctx,
        decision,
        AuditTag.AUDIT_PROOF_ISSUED,
        case_id=proof.entry["case_id"],
        object_type="audit_entry",
        object_id=str(seq),
        details={"tree_size": proof.tree_size},
    )
    return {**proof.as_dict(), "entry": proof.entry}
