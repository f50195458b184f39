"""D11/D20/D21: destroying a case (retention sweep or a granted D12 request) erases its content, not
the privacy officer's record of who opened it: an emergency access keeps its sealed justification
(sealed under the metadata subkey, not the case key), its grouping of reads and its review."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from tests.web.world import World, build_world
from vault.context import Context
from vault.domain import Role
from vault.models import BreakGlassAccess, BreakGlassAccessEntry, BreakGlassReview
from vault.runtime import Vault
from vault.services import destruction
from vault.services.audit_reports import ReviewOutcome, break_glass_list, review_break_glass
from vault.services.case_view import view_case

WHY = "Politie belt: dreiging vannacht, team Noord is niet bereikbaar voor overleg"


@pytest.fixture
def world(vault: Vault) -> World:
    return build_world(vault)


def _ctx(vault: Vault, user_id: str, role: Role, session_id: str = "s") -> Context:
    return Context(
        actor_id=user_id,
        role=str(role),
        access_point="web",
        session_id=session_id,
        second_factor_verified=True,
        factor_checked_at=vault.clock.now(),
        clock=vault.clock,
    )


def _officer(vault: Vault, world: World) -> Context:
    return _ctx(vault, world.officer.user_id, Role.PRIVACY_OFFICER)


def _listed(vault: Vault, world: World) -> list[tuple[Any, ...]]:
    with vault.db.session() as session:
        entries = break_glass_list(session, vault, _officer(vault, world))["entries"]
    return [(e["access"], e["justification"], e["read_count"], e["reviewed"]) for e in entries]


def _rows(vault: Vault) -> tuple[int, int, int]:
    with vault.db.session() as session:
        return tuple(  # type: ignore[return-value]
            int(session.scalar(select(func.count()).select_from(model)) or 0)
            for model in (BreakGlassAccess, BreakGlassAccessEntry, BreakGlassReview)
        )


def test_d20_destroying_a_case_keeps_the_justification_and_grouping_of_an_emergency_access(
    vault: Vault, world: World
) -> None:
    outsider = _ctx(vault, world.outsider.user_id, Role.MEDEWERKER, "session-a")
    view_case(vault, outsider, world.case_id, break_glass_justification=WHY)
    view_case(vault, outsider, world.case_id, break_glass_justification=WHY)  # the same access
    before = _listed(vault, world)
    assert len(before) == 1
    assert before[0][1] == WHY
    assert before[0][3] is False
    assert before[0][2] > 1  # its reads, grouped under the one access
    rows = _rows(vault)

    operator = Context(actor_id="os:tester", role="operator", access_point="cli", clock=vault.clock)
    destruction.destroy_case(vault, operator, world.case_id, reason="retention_expired")

    assert _rows(vault) == rows
    assert _listed(vault, world) == before  # one access, two reads, its reason, still to review


def test_d20_a_reviewed_emergency_access_stays_reviewed_after_the_destruction(
    vault: Vault, world: World
) -> None:
    outsider = _ctx(vault, world.outsider.user_id, Role.MEDEWERKER, "session-b")
    view_case(vault, outsider, world.case_id, break_glass_justification=WHY)
    view_case(vault, outsider, world.case_id, break_glass_justification=WHY)
    [(access, _why, reads, _reviewed)] = _listed(vault, world)
    assert reads > 1
    with vault.db.session() as session:
        review_break_glass(session, vault, _officer(vault, world), access, ReviewOutcome.JUSTIFIED)

    operator = Context(actor_id="os:tester", role="operator", access_point="cli", clock=vault.clock)
    destruction.destroy_case(vault, operator, world.case_id, reason="retention_expired")

    # Not split into two unreviewed single reads (D20: the review covers the whole access).
    assert _listed(vault, world) == [(access, WHY, reads, True)]


def test_d21_no_audit_side_table_is_removed_as_case_content() -> None:
    """Every table of the audit log's side (vault.models.audit, vault.models.logcontrole) is kept,
    also one added later with a case_id column."""
    removed = {table.name for table, _children in destruction._content_tables()}
    removed |= {child.name for _t, children in destruction._content_tables() for child, _f, _p in children}
    for audit_side in ("break_glass_accesses", "break_glass_access_entries", "audit_break_glass_reviews"):
        assert audit_side not in removed
    assert destruction.audit_side_tables() >= {
        "audit_entries",
        "break_glass_accesses",
        "break_glass_access_entries",
        "logcontrole_findings",
    }
    assert not (destruction.audit_side_tables() & removed)
