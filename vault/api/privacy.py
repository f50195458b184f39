"""The privacy officer's audit API (D15, D16, D20): log data only, never case content.

Every route needs a verified session (``RequestContext``), decides through the policy (only the
privacy officer may AUDIT) and is itself audited; the break-glass review also needs a recent step-up.
The router's lifespan runs the periodic checkpointer (``VAULT_AUDIT_CHECKPOINT_MINUTES``) and the
daily access review (D21, ``VAULT_LOGCONTROLE_REVIEW_MINUTES``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Path, Query, Response
from pydantic import BaseModel, Field

from vault.audit.bundle import dump_bundle
from vault.audit.checkpoints import load_audit_settings
from vault.audit.export import ACTOR_ID_PATTERN
from vault.audit.queries import EntryFilter
from vault.audit.schedule import PeriodicCheckpointer
from vault.domain import AuditTag, Decision
from vault.http.dates import Moment
from vault.http.deps import RequestContext, StepUpSession, VaultDep
from vault.http.downloads import download_headers
from vault.http.params import UUID_PATTERN, CaseId
from vault.logcontrole.daily import DailyReview
from vault.services import audit_reports as service
from vault.services import proof_bundles
from vault.services.audit_reports import MAX_PAGE, ReviewOutcome
from vault.services.integrity_check import DailyVerification
from vault.transaction import transaction

__all__ = ["router"]


@asynccontextmanager
async def _checkpoints(app: FastAPI) -> AsyncIterator[None]:
    settings = load_audit_settings()
    worker = None
    if settings.checkpoint_minutes > 0:
        worker = PeriodicCheckpointer(
            app.state.vault, minutes=settings.checkpoint_minutes, on_start=settings.checkpoint_on_start
        )
        worker.start()
    review_minutes = app.state.vault.settings.logcontrole_review_minutes
    reviewer = DailyReview(app.state.vault, minutes=review_minutes) if review_minutes > 0 else None
    if reviewer is not None:
        reviewer.start()
    verifier = (
        DailyVerification(app.state.vault, hours=settings.verify_hours) if settings.verify_hours else None
    )
    if verifier is not None:
        verifier.start()
    try:
        yield
    finally:
        for periodic in (worker, reviewer, verifier):
            if periodic is not None:
                periodic.stop()


router = APIRouter(prefix="/api/v1/audit", tags=["audit"], lifespan=_checkpoints)

# Search terms are ids and codes of the log, checked before the route runs (422 naming the parameter,
# never its value): the search is audited with its terms, so free text must never get that far.
CaseFilter = Annotated[str, Query(pattern=UUID_PATTERN, max_length=36, description="Case id (UUID)")]
ActorFilter = Annotated[
    str,
    Query(
        pattern=ACTOR_ID_PATTERN,
        max_length=64,
        description="Actor id: a UUID, system, public_form, os:<account>",
    ),
]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE)]
# Sequence numbers are BIGINT: a larger number is refused as invalid input, never sent to the database
# (SQLite raised OverflowError → 500 before this bound).
MAX_SEQ = 2**63 - 1


# Each route opens its transaction in its body, after authentication has finished its own: two
# transactions never nest (on SQLite they would wait on each other).


@router.get("/entries")
def search_entries(
    vault: VaultDep,
    ctx: RequestContext,
    case_id: CaseFilter | None = None,
    actor_id: ActorFilter | None = None,
    tag: AuditTag | None = None,
    from_: Annotated[Moment | None, Query(alias="from")] = None,
    to: Moment | None = None,
    break_glass: bool | None = None,
    decision: Decision | None = None,
    after_seq: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0,
    limit: Limit = 100,
) -> dict[str, Any]:
    """Search the log (oldest first); page on with ``after_seq=next_after_seq``."""
    filters = EntryFilter(
        case_id=case_id,
        actor_id=actor_id,
        tag=tag.value if tag else None,
        since=from_,
        until=to,
        break_glass=break_glass,
        decision=decision.value if decision else None,
    )
    with transaction(vault.db) as session:
        return service.search_log(session, vault, ctx, filters, after_seq=after_seq, limit=limit)


@router.get("/cases/{case_id}/access-report")
def access_report(
    vault: VaultDep,
    ctx: RequestContext,
    case_id: CaseId,
    after_seq: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0,
    limit: Limit = MAX_PAGE,
    bundle_parts: bool = False,
) -> dict[str, Any]:
    """D15: who (username, role, organisation) accessed the case, when, what, on which ground.
    ``bundle_parts=true``: also where each part of the proof bundles begins, ``{"access_report":
    [...], "subject_overview": [...]}`` (``…/access-report/bundle?after_seq=`` each part's
    ``after_seq``, with ``for_subject=true`` for the second), as the report page lists them; part of
    the report, recorded by its ``audit:access-report:viewed`` entry. Off by default: the subject's
    parts take a pass over the whole case."""
    with transaction(vault.db) as session:
        report = service.case_access_report(session, vault, ctx, case_id, after_seq=after_seq, limit=limit)
        if bundle_parts:
            report["bundle_parts"] = {
                "access_report": proof_bundles.part_list(
                    proof_bundles.bundle_parts(session, vault, ctx, case_id, full=True)
                ),
                "subject_overview": proof_bundles.part_list(
                    proof_bundles.bundle_parts(session, vault, ctx, case_id, full=False)
                ),
            }
        return report


@router.get("/break-glass")
def break_glass(
    vault: VaultDep,
    ctx: RequestContext,
    before_seq: Annotated[int | None, Query(ge=1, le=MAX_SEQ)] = None,
    unreviewed_only: bool = False,
    limit: Limit = 100,
) -> dict[str, Any]:
    """D20: every emergency access (one actor, one case, one session, one justification), newest first,
    with the written justification, the reads it covers, ``reviewed`` and the review."""
    with transaction(vault.db) as session:
        return service.break_glass_list(
            session, vault, ctx, before_seq=before_seq, limit=limit, unreviewed_only=unreviewed_only
        )


class ReviewIn(BaseModel):
    """The finding: a code the officer must choose (no default), an optional comment, and the last
    read the officer judged (``through_seq``: the ``seq`` of the last of the access's ``reads`` as
    listed); reads after it become an access of their own, to be reviewed in turn (D20)."""

    outcome: ReviewOutcome
    comment: Annotated[str | None, Field(max_length=service.MAX_COMMENT)] = None
    through_seq: Annotated[int, Field(ge=1, le=MAX_SEQ)]


@router.post("/break-glass/{seq}/review")
def review(
    vault: VaultDep,
    ctx: RequestContext,
    _stepped_up: StepUpSession,
    seq: Annotated[int, Path(ge=1, le=MAX_SEQ)],
    body: ReviewIn,
) -> dict[str, Any]:
    """D20: record the finding (justified, unjustified, needs_followup) and an optional comment, once
    per emergency access, and after needs_followup one final verdict; ``seq`` is the access's number
    (or any of its entries). 409 when it has its verdict, or ``through_seq`` is not one of its reads."""
    with transaction(vault.db) as session:
        return service.review_break_glass(
            session, vault, ctx, seq, body.outcome, body.comment, through_seq=body.through_seq
        )


@router.get("/integrity")
def integrity(vault: VaultDep, ctx: RequestContext) -> dict[str, Any]:
    """Integrity status: ``ok`` only when the last full verification passed and the chain after the latest
    checkpoint holds; ``state`` is ok / never_verified / partly_verified / verify_failed / broken."""
    with transaction(vault.db) as session:
        return service.integrity_view(session, vault, ctx)


@router.post("/integrity/verify", status_code=202)
def start_verification(vault: VaultDep, ctx: RequestContext) -> dict[str, Any]:
    """Start a full verification of the log in the background (one at a time; 409 while one runs).
    Its progress is ``full_verify_job`` in ``GET /integrity``; its result ``last_full_verify``."""
    return service.start_full_verification(vault, ctx)


@router.get("/checkpoints/latest")
def latest_checkpoint(vault: VaultDep, ctx: RequestContext) -> dict[str, Any]:
    """The newest signed checkpoint (C2SP signed note)."""
    with transaction(vault.db) as session:
        return service.checkpoint_view(session, vault, ctx)


@router.get("/proof/inclusion")
def inclusion_proof(
    vault: VaultDep,
    ctx: RequestContext,
    seq: Annotated[int, Query(ge=1, le=MAX_SEQ)],
    size: Annotated[int | None, Query(ge=1, le=MAX_SEQ)] = None,
) -> dict[str, Any]:
    """RFC 9162 inclusion proof of entry ``seq`` against the latest (or the given) checkpoint."""
    with transaction(vault.db) as session:
        return service.inclusion_proof_view(session, vault, ctx, seq, size=size)


def _bundle_response(bundle: dict[str, Any], filename: str) -> Response:
    # The canonical bytes, not a re-serialised dict: the verifier refuses any other spelling.
    return Response(
        dump_bundle(bundle),
        media_type="application/json",
        headers=download_headers(filename),
    )


@router.get("/entries/{seq}/bundle")
def entry_bundle(
    vault: VaultDep, ctx: RequestContext, seq: Annotated[int, Path(ge=1, le=MAX_SEQ)]
) -> Response:
    """Proof bundle of one entry: the entry, its inclusion proof, the cosigned checkpoint (one JSON file)."""
    return _bundle_response(proof_bundles.entry_bundle(vault, ctx, seq), f"auditbewijs-{seq}.json")


@router.get("/cases/{case_id}/access-report/bundle")
def access_report_bundle(
    vault: VaultDep,
    ctx: RequestContext,
    case_id: CaseId,
    after_seq: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0,
    for_subject: Annotated[bool, Query()] = False,
) -> Response:
    """D15 with proof: the access report's entries (≤ 500 per bundle), each with its inclusion proof —
    every entry, for the privacy officer and auditors. ``for_subject=true``: only the entries the data
    subject's overview shows (D8, D13: the reporter, refusals and subjects' requests left out), the
    bundle to hand to them."""
    if for_subject:
        bundle = proof_bundles.subject_overview_bundle(vault, ctx, case_id, after_seq=after_seq)
        return _bundle_response(bundle, "bewijs-betrokkene.json")
    bundle = proof_bundles.access_report_bundle(vault, ctx, case_id, after_seq=after_seq)
    return _bundle_response(bundle, "toegangsrapport-bewijs.json")
