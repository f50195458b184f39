"""Changing a disclosure after it was made: revoking it (at once) and extending it (never beyond the
maximum validity from its start). Both need a recent second-factor check and the same right as
making one (DISCLOSE on the case); a refusal, and an attempt on a disclosure that does not exist, is
audited as a denial (ids and rule only) before the caller gets 404 (D16, D21: someone trying other
teams' disclosures shows in the log review like any other probing).

An extension is a new decision to share for longer, so it must hold as a new disclosure would (D9):
only a live grant is extended (an expired one is not brought back: a new disclosure is made, and
checked, instead; 409, rule ``disclosure-expired``); the new end is after the current one (an
"extension" to an earlier or equal date is refused with 400, rule ``d16-extension-not-later``: it would
cut the partner's access short while the log said "extended"; the entry records the end before and
after), and its basis is checked again as creating checks
it (``disclosure_rules.basis_holds``: the basis fits the recipient, the board is asked for the
municipality's basis, the consent it rests on still holds). A basis that no longer holds is refused
with 403 and the rule, audited as a refused disclosure is (``disclosure:grant:denied``, ids and rule).

Revoking the disclosure to the child protection board ends the request to the board, and with it the
municipality's basis (D9, ``wmo-4.1.1-2-rvdk-municipality``): unless the board is still asked (the
triage outcome, or another live grant to the board on its request code, live since that municipality
grant's start), every live municipality grant of the case is revoked in the same transaction, each
with its own ``disclosure:grant:revoked`` entry (grant id, rule ``d9-rvdk-not-asked``, reason
``board-no-longer-asked``), as withdrawing a consent revokes the grants resting on it. A board grant
that merely expires needs no revocation: a partner's read and inbox already treat the municipality's
grant as not live from then on, for good (``vault.repositories.access.basis_in_force``).

Both answer the grant as it is now; its purpose is sealed under the case key (D18, D22), so the answer
opens it through the gate (READ on the case, audited as ``disclosure:register:read`` of the grant).

Lock order and the conditional ``UPDATE … WHERE revoked_at IS NULL``: see ``disclosures``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import NoReturn

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from vault.audit import record
from vault.audit.log import hold_chain
from vault.context import Context
from vault.domain import Action, AuditTag, OrgType
from vault.domain import Decision as Effect
from vault.errors import Conflict, InvalidInput, NotFound, StepUpRequired
from vault.models import Grant, Organisation
from vault.runtime import Vault
from vault.services.disclosure_requests import DisclosureRefused, GrantView, admitted_view
from vault.services.disclosure_rules import MUNICIPALITY_BASIS, RVDK_NOT_ASKED, basis_holds, board_asked
from vault.services.gate import GateRequest, decide
from vault.transaction import Refusal, transaction

__all__ = [
    "BOARD_NO_LONGER_ASKED",
    "EXPIRED_NOT_EXTENDED",
    "NOT_LATER",
    "extend_disclosure",
    "require_step_up",
    "revoke_disclosure",
]

_REVOKED_NOT_EXTENDED = "a revoked disclosure cannot be extended"
NOT_LATER = "d16-extension-not-later"  # an "extension" that does not end later: 400, nothing changes
EXPIRED_NOT_EXTENDED = "disclosure-expired"  # the rule of the 409: a page answers it in its own words
BOARD_NO_LONGER_ASKED = "board-no-longer-asked"  # D9: the reason code of a municipality grant revoked


def require_step_up(vault: Vault, ctx: Context) -> None:
    if ctx.role != "operator" and not ctx.stepped_up_within(vault.settings.step_up_minutes):
        raise StepUpRequired("creating or changing a disclosure needs a recent second-factor check")


def _refused(
    session: Session, ctx: Context, grant_id: str, *, case_id: str | None, rule: str, tag: AuditTag
) -> NoReturn:
    """Record the refused change (ids and rule only); ``transaction`` commits it, then the caller
    gets 404, as for a disclosure that does not exist (a 403 would confirm it does)."""
    record(
        session,
        ctx,
        AuditTag.DOSSIER_ACCESS_DENIED,
        case_id=case_id,
        object_type="grant",
        object_id=grant_id[:64],
        decision=Effect.DENY,
        rule=rule,
        details={"attempted": str(tag)},
    )
    raise Refusal(NotFound("no such disclosure"))


def _manageable_grant(session: Session, vault: Vault, ctx: Context, grant_id: str, tag: AuditTag) -> Grant:
    hold_chain(session)  # the audit chain before the facts and the grant's row (see ``disclosures``)
    grant = session.get(Grant, grant_id)
    if grant is None:
        _refused(session, ctx, grant_id, case_id=None, rule="no-such-grant", tag=tag)
    _actor, _case, _g, decision = decide(
        session, vault, ctx, GateRequest(grant.case_id, Action.DISCLOSE, category=None, purpose="manage")
    )
    if not decision.allowed:
        _refused(session, ctx, grant.id, case_id=grant.case_id, rule=decision.rule, tag=tag)
    return grant


def _update_live_grant(session: Session, grant: Grant, **values: object) -> bool:
    """Set ``values`` on the grant only while it is not revoked; True when it did. One conditional
    UPDATE (it waits for a concurrent change of the row and checks the condition again), then the row
    is read afresh, so the answer shows what was committed and never an earlier read."""
    result: CursorResult[tuple[()]] = session.execute(  # type: ignore[assignment]
        update(Grant)
        .where(Grant.id == grant.id, Grant.revoked_at.is_(None))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    session.refresh(grant)
    return (result.rowcount or 0) == 1


def revoke_disclosure(vault: Vault, ctx: Context, grant_id: str) -> GrantView:
    """Revocation takes effect at once: the next retrieval is refused.

    Idempotent: revoking a revoked grant (also at the same moment from another session) answers the
    revoked grant and changes nothing; only the revocation that changed the row is audited."""
    require_step_up(vault, ctx)
    with transaction(vault.db) as session:
        grant = _manageable_grant(session, vault, ctx, grant_id, AuditTag.DISCLOSURE_GRANT_REVOKED)
        if grant.revoked_at is None and _update_live_grant(session, grant, revoked_at=ctx.now()):
            record(
                session,
                ctx,
                AuditTag.DISCLOSURE_GRANT_REVOKED,
                case_id=grant.case_id,
                object_type="grant",
                object_id=grant.id,
                details={"org_id": grant.org_id},
            )
            _revoke_municipality_grants(session, ctx, grant.case_id)
        return _answer(session, vault, ctx, grant)


def _answer(session: Session, vault: Vault, ctx: Context, grant: Grant) -> GrantView:
    """The changed grant for the caller: its sealed purpose opened through the gate, audited (D18, D22)."""
    return admitted_view(session, vault, ctx, grant, tag=AuditTag.DISCLOSURE_REGISTER_READ)


def _revoke_municipality_grants(session: Session, ctx: Context, case_id: str) -> None:
    """D9: after a revocation, the case's live grants on the municipality's basis are revoked when the
    board is no longer asked, each audited (ids, rule and reason code only), in the caller's
    transaction. Nothing to do (one indexed query) when the case has none, or the board is still asked."""
    now = ctx.now()
    grants = session.scalars(
        select(Grant)
        .where(
            Grant.case_id == case_id,
            Grant.legal_basis == MUNICIPALITY_BASIS,
            Grant.revoked_at.is_(None),
            Grant.valid_until > now,
        )
        .order_by(Grant.created_at, Grant.id)
    ).all()
    for grant in grants:
        if board_asked(session, ctx, case_id, since=grant.valid_from):
            continue  # the request it was made under is still live
        if not _update_live_grant(session, grant, revoked_at=now):
            continue  # revoked meanwhile by another session: that revocation was audited there
        record(
            session,
            ctx,
            AuditTag.DISCLOSURE_GRANT_REVOKED,
            case_id=grant.case_id,
            object_type="grant",
            object_id=grant.id,
            rule=RVDK_NOT_ASKED,
            details={"org_id": grant.org_id, "reason": BOARD_NO_LONGER_ASKED},
        )


def _refuse_lapsed_basis(session: Session, ctx: Context, grant: Grant) -> None:
    """D9: the grant's basis must hold now, as for a new disclosure; if not, record the refusal like a
    refused disclosure (``disclosure:grant:denied``, ids and rule) and refuse (403 after the commit)."""
    org = session.get(Organisation, grant.org_id)
    org_type = org.org_type if org is not None else None
    decision = (
        basis_holds(
            session,
            ctx,
            case_id=grant.case_id,
            org_id=grant.org_id,
            org_type=OrgType(org_type),
            legal_basis=grant.legal_basis,
            consent_id=grant.consent_id,
            since=grant.valid_from,  # the request to the board it was made under, live ever since
        )
        if org_type in set(OrgType)
        else None
    )
    if decision is not None and decision.allowed:
        return
    rule = decision.rule if decision is not None else "d9-recipient-not-allowed"
    record(
        session,
        ctx,
        AuditTag.DISCLOSURE_GRANT_DENIED,
        case_id=grant.case_id,
        object_type="grant",
        object_id=grant.id,
        legal_basis=grant.legal_basis,
        decision=Effect.DENY,
        rule=rule,
        details={"attempted": str(AuditTag.DISCLOSURE_GRANT_EXTENDED), "org_id": grant.org_id},
    )
    reason = decision.reason if decision is not None else "the recipient is no known organisation type"
    raise Refusal(DisclosureRefused(f"extension refused: {reason}", rule=rule))


def extend_disclosure(vault: Vault, ctx: Context, grant_id: str, *, days: int) -> GrantView:
    """Extend a live grant; never beyond the maximum validity counted from its start. A grant revoked
    before the extension (also by a revocation committed while this one was deciding) is refused, and
    so is an expired one (409: make a new disclosure). The basis is checked again as for a new
    disclosure (D9); a refusal is audited (``disclosure:grant:denied``) and raised (403)."""
    require_step_up(vault, ctx)
    with transaction(vault.db) as session:
        grant = _manageable_grant(session, vault, ctx, grant_id, AuditTag.DISCLOSURE_GRANT_EXTENDED)
        if grant.revoked_at is not None:
            raise Conflict(_REVOKED_NOT_EXTENDED)
        now = ctx.now()
        if grant.valid_until <= now:
            raise Conflict(
                "an expired disclosure cannot be extended; make a new disclosure", rule=EXPIRED_NOT_EXTENDED
            )
        new_until = now + timedelta(days=days)
        limit = grant.valid_from + timedelta(days=vault.settings.disclosure_max_days)
        if days < 1 or new_until > limit:
            raise InvalidInput(
                f"a disclosure is valid at most {vault.settings.disclosure_max_days} days from its start"
            )
        old_until = grant.valid_until
        if new_until <= old_until:
            # D16: an extension never ends the disclosure earlier (nor is logged as extended if it did)
            raise InvalidInput("an extension ends after the current end date", rule="d16-extension-not-later")
        _refuse_lapsed_basis(session, ctx, grant)
        if not _update_live_grant(session, grant, valid_until=new_until):
            raise Conflict(_REVOKED_NOT_EXTENDED)
        record(
            session,
            ctx,
            AuditTag.DISCLOSURE_GRANT_EXTENDED,
            case_id=grant.case_id,
            object_type="grant",
            object_id=grant.id,
            details={
                "org_id": grant.org_id,
                "days": days,
                "valid_until_before": old_until.isoformat(),
                "valid_until_after": new_until.isoformat(),
            },
        )
        return _answer(session, vault, ctx, grant)
