"""D11: the retention sweep lists the expired cases once, then destroys them one transaction at a
time. A case whose ``destroy_after`` moved into the future after the list was made (the team leader
kept it for legal proceedings, or a worker changed it: 20 years from that change) must be kept, and
the sweep says so (its item and its audit summary, counts only)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import select

from tests.helpers import ctx_for, new_case, upload
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, Role
from vault.models import AuditEntry, Case, CaseKey, DestructionCertificate
from vault.runtime import Vault
from vault.services import sweep
from vault.services.journal import add_note
from vault.services.retention import ExtensionReason, extend_retention


def _fresh(vault: Vault, ctx: Context) -> Context:
    """The same actor, stepped up at the clock's current time."""
    return ctx_for(vault, ctx.actor_id or "", Role(ctx.role or ""))


def _operator(vault: Vault) -> Context:
    return Context(actor_id="os:tester", role="operator", access_point="cli", clock=vault.clock)


def _state(vault: Vault, case_id: str) -> tuple[datetime, bool, bool, bool]:
    """destroy_after, destroyed, key still there, certificate issued."""
    with vault.db.session() as session:
        case = session.get(Case, case_id)
        assert case is not None
        key = session.scalar(select(CaseKey.case_id).where(CaseKey.case_id == case_id))
        cert = session.scalar(
            select(DestructionCertificate.id).where(DestructionCertificate.case_id == case_id)
        )
        return case.destroy_after, case.destroyed_at is not None, key is not None, cert is not None


def _summaries(vault: Vault) -> list[dict[str, int]]:
    with vault.db.session() as session:
        swept = session.scalars(
            select(AuditEntry.details).where(AuditEntry.tag == AuditTag.SYSTEM_RETENTION_SWEPT)
        ).all()
    return [json.loads(d or "{}") for d in swept]


def test_d11_the_sweep_keeps_a_case_held_for_legal_proceedings_after_it_was_listed(
    vault: Vault, clock: FrozenClock, team: str, worker: Context, leader: Context
) -> None:
    cases = [new_case(vault, worker, team) for _ in range(2)]
    for case_id in cases:
        upload(vault, worker, case_id, b"inhoud")
    clock.set(datetime(2046, 3, 3, tzinfo=UTC))  # both are past their 20 years

    running = sweep.sweep_expired(vault, _operator(vault))
    first = next(running)  # the sweep has listed both and destroyed the first
    other = next(c for c in cases if c != first.case_id)
    until = datetime(2056, 1, 1, tzinfo=UTC)
    extend_retention(
        vault, _fresh(vault, leader), other, until=until, reason=ExtensionReason.LEGAL_PROCEEDINGS
    )
    rest = list(running)  # the sweep goes on

    assert _state(vault, first.case_id)[1:] == (True, False, True)
    assert _state(vault, other) == (until, False, True, False), "a case on hold was destroyed"
    assert [(i.case_id, i.kept, i.waits) for i in rest] == [(other, True, False)]
    assert not first.kept
    assert _summaries(vault) == [{"destroyed": 1, "waiting": 0, "kept": 1}]


def test_d11_the_sweep_keeps_a_case_changed_after_it_was_listed(
    vault: Vault, clock: FrozenClock, team: str, worker: Context
) -> None:
    cases = [new_case(vault, worker, team) for _ in range(2)]
    clock.set(datetime(2046, 3, 3, tzinfo=UTC))

    running = sweep.sweep_expired(vault, _operator(vault))
    first = next(running)
    other = next(c for c in cases if c != first.case_id)
    add_note(vault, _fresh(vault, worker), other, text="Nieuwe melding van school vandaag")  # +20 years
    assert _state(vault, other)[0].year == 2066
    list(running)

    assert _state(vault, other)[1:] == (False, True, False), "a case changed today was destroyed"
    # The next sweep, at the new date, takes it.
    clock.set(datetime(2066, 3, 4, tzinfo=UTC))
    assert [(i.case_id, i.kept) for i in sweep.sweep_expired(vault, _operator(vault))] == [(other, False)]
    assert _state(vault, other)[1:] == (True, False, True)
