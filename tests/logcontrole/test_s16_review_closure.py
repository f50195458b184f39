"""Session 16 review (D21, D6): detector 10 (``after_closure``) must know a report that ended at triage.

O4: a case counted as closed only when its investigation ended (``investigation_ended_on``). A report
whose triage outcome was "end" (D6: Veilig Thuis closes it at the triage decision, as most reports
are) was never closed for the review, so a read of it years later was never flagged.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.logcontrole.conftest import DAY, World, of
from vault.domain import TriageOutcome
from vault.models import CaseWorkflow

NOON = DAY + timedelta(hours=10)


def _triaged(world: World, case_id: str, outcome: TriageOutcome, at: datetime) -> None:
    with world.vault.db.session() as session:
        workflow = session.get(CaseWorkflow, case_id)
        assert workflow is not None
        workflow.triage_outcome = str(outcome)
        workflow.triage_decided_at = at


def test_d21_o4_a_read_long_after_a_triage_end_is_flagged(world: World) -> None:
    _triaged(world, world.case, TriageOutcome.END, datetime(2025, 6, 1, 9, tzinfo=UTC))
    world.log(world.a1, NOON, case_id=world.case)
    found = of(world.review(), "after_closure")
    assert [(f.actor_id, f.case_id) for f in found] == [(world.a1, world.case)], (
        "a report closed at triage two hundred days ago is read and nothing is flagged"
    )


def test_d21_o4_a_recent_triage_end_and_an_open_investigation_are_not_flagged(world: World) -> None:
    _triaged(world, world.case, TriageOutcome.END, datetime(2026, 2, 1, 9, tzinfo=UTC))
    _triaged(world, world.other_case, TriageOutcome.INVESTIGATION, datetime(2025, 6, 1, 9, tzinfo=UTC))
    world.log(world.a1, NOON, case_id=world.case)
    world.log(world.a1, NOON, case_id=world.other_case)
    assert of(world.review(), "after_closure") == []
