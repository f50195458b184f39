"""D11, D12 (Wmo 2015 art. 5.3.5 lid 3: destruction is refused only while the law forbids it): a legal
hold lasts as long as the proceedings or the obligation, not 20 years. It may be dated any day from
tomorrow, stops a grant until then, and the team leader can lift it before its date with a reason code
(audited ``rights:legal-hold:lifted``); the retention sweep honours the lift."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.helpers import new_case, upload
from vault.context import Context, FrozenClock
from vault.domain import AuditTag
from vault.errors import Conflict, Forbidden, InvalidInput
from vault.models import AuditEntry, Case
from vault.runtime import Vault
from vault.services import destruction, sweep
from vault.services.calendar import local_date
from vault.services.legal_hold import NO_HOLD, LiftReason, lift_legal_hold
from vault.services.retention import ExtensionReason, extend_retention


def _operator(vault: Vault) -> Context:
    return Context(actor_id="os:tester", role="operator", access_point="cli", clock=vault.clock)


def _ask_destruction(vault: Vault, worker: Context, case_id: str, clock: FrozenClock) -> str:
    return destruction.record_destruction_request(vault, worker, case_id, received_on=local_date(clock.now()))


def test_d12_a_hold_for_two_years_of_proceedings_ends_with_them(
    vault: Vault, team: str, worker: Context, leader: Context, clock: FrozenClock
) -> None:
    case_id = new_case(vault, worker, team)
    upload(vault, worker, case_id, b"stukken voor de rechtbank")
    extend_retention(
        vault,
        leader,
        case_id,
        until=clock.now() + timedelta(days=730),
        reason=ExtensionReason.LEGAL_PROCEEDINGS,
    )
    clock.advance(days=30)  # during the proceedings: a grant is refused
    leader = replace(leader, factor_checked_at=clock.now())
    early = _ask_destruction(vault, worker, case_id, clock)
    with pytest.raises(Conflict):
        destruction.decide_destruction_request(vault, leader, early, grant=True)
    destruction.decide_destruction_request(
        vault,
        leader,
        early,
        grant=False,
        refusal_reason=destruction.RefusalReason.STATUTORY_OBLIGATION,
        refusal_note="Lopende procedure bij de rechtbank.",
    )
    clock.advance(days=800)  # the proceedings are over
    leader = replace(leader, factor_checked_at=clock.now())
    request = _ask_destruction(vault, worker, case_id, clock)
    assert destruction.decide_destruction_request(vault, leader, request, grant=True).status == "granted"


def test_d12_a_hold_starts_tomorrow_at_the_earliest(
    vault: Vault, team: str, worker: Context, leader: Context, clock: FrozenClock
) -> None:
    case_id = new_case(vault, worker, team)
    with pytest.raises(InvalidInput) as refused:
        extend_retention(vault, leader, case_id, until=clock.now(), reason=ExtensionReason.LEGAL_PROCEEDINGS)
    assert refused.value.rule == "d12-hold-in-the-past"
    with pytest.raises(InvalidInput):  # an ordinary extension still moves the date later
        extend_retention(
            vault,
            leader,
            case_id,
            until=clock.now() + timedelta(days=30),
            reason=ExtensionReason.SUBJECT_INTEREST,
        )


def test_d12_the_team_leader_lifts_a_hold_with_a_reason_and_a_grant_follows(
    vault: Vault, team: str, worker: Context, leader: Context, clock: FrozenClock
) -> None:
    case_id = new_case(vault, worker, team)
    upload(vault, worker, case_id, b"stukken voor de rechtbank")
    extend_retention(
        vault,
        leader,
        case_id,
        until=clock.now() + timedelta(days=3650),
        reason=ExtensionReason.STATUTORY_OBLIGATION,
    )
    with pytest.raises(Forbidden):  # a case worker does not place holds, so does not lift them
        lift_legal_hold(vault, worker, case_id, reason=LiftReason.OBLIGATION_ENDED)
    lift_legal_hold(vault, leader, case_id, reason=LiftReason.OBLIGATION_ENDED)
    with vault.db.session() as session:
        lifted = session.scalars(
            select(AuditEntry).where(AuditEntry.tag == str(AuditTag.RIGHTS_LEGAL_HOLD_LIFTED))
        ).one()
    assert (lifted.actor_id, lifted.case_id, lifted.decision) == (leader.actor_id, case_id, "allow")
    assert "obligation_ended" in (lifted.details or "")
    with pytest.raises(Conflict) as nothing:  # nothing left to lift: refused, audited by the gate
        lift_legal_hold(vault, leader, case_id, reason=LiftReason.OBLIGATION_ENDED)
    assert nothing.value.rule == NO_HOLD
    leader = replace(leader, factor_checked_at=clock.now())
    request = _ask_destruction(vault, worker, case_id, clock)
    assert destruction.decide_destruction_request(vault, leader, request, grant=True).status == "granted"


def test_d11_d12_the_sweep_honours_a_lifted_hold(
    vault: Vault, team: str, worker: Context, leader: Context, clock: FrozenClock
) -> None:
    case_id = new_case(vault, worker, team)
    with vault.db.session() as session:
        case = session.get(Case, case_id)
        assert case is not None
        term = case.destroy_after  # last change + 20 years
    extend_retention(
        vault, leader, case_id, until=term + timedelta(days=3650), reason=ExtensionReason.LEGAL_PROCEEDINGS
    )
    clock.set(term + timedelta(days=1))  # the 20 years are over, the hold is not
    assert [i.case_id for i in sweep.sweep_expired(vault, _operator(vault))] == []
    lift_legal_hold(vault, replace(leader, clock=vault.clock), case_id, reason=LiftReason.PROCEEDINGS_ENDED)
    swept = [(i.case_id, i.kept) for i in sweep.sweep_expired(vault, _operator(vault))]
    assert swept == [(case_id, False)]
