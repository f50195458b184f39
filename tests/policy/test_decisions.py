"""Table-driven policy decisions: every row of decisions.csv, through the compiled engine and
through stock pycasbin. The test id names the D-rule each row proves."""

from __future__ import annotations

import pytest

from vault.domain import Action, Category, Role
from vault.policy import PolicyEngine

from .factbuilder import Row, actor_for, context_for, load_rows, target_for

ROWS = load_rows()


@pytest.fixture(scope="module")
def engine() -> PolicyEngine:
    return PolicyEngine()


@pytest.mark.parametrize("row", ROWS, ids=[row.test_id for row in ROWS])
def test_decision_table(engine: PolicyEngine, row: Row) -> None:
    decision = engine.decide(actor_for(row), target_for(row), row.action, context_for(row))
    assert decision.allowed is row.expected_allowed, decision
    assert decision.rule == row.expected_rule, decision
    # D20: the emergency flag is set exactly on allows that rest on a break-the-glass justification.
    assert decision.break_glass is (row.expected_allowed and row.expected_rule.startswith("p:break-glass"))


@pytest.mark.parametrize("row", ROWS, ids=[row.test_id for row in ROWS])
def test_compiled_and_stock_pycasbin_agree(engine: PolicyEngine, row: Row) -> None:
    actor, target, ctx = actor_for(row), target_for(row), context_for(row)
    assert engine.decide(actor, target, row.action, ctx) == engine.decide_stock(
        actor, target, row.action, ctx
    )


def test_table_is_large_and_covers_roles_actions_categories() -> None:
    assert len(ROWS) >= 80
    assert {row.actor_role for row in ROWS} == set(Role)
    assert {row.action for row in ROWS} == set(Action)
    assert {row.category for row in ROWS if row.category} == set(Category)
    assert {row.break_glass for row in ROWS} >= {"none", "short", "padded", "valid"}
    assert {row.grant_state for row in ROWS} >= {
        "valid",
        "expired",
        "revoked",
        "used_up",
        "other_org",
        "category_mismatch",
        "document_match",
        "reporter_released",
    }


def test_every_policy_line_is_proven_by_a_row(engine: PolicyEngine) -> None:
    proven = {row.expected_rule for row in ROWS}
    assert {line.rule for line in engine.lines} <= proven


@pytest.mark.parametrize("role", [Role.PRIVACY_OFFICER, Role.ADMIN])
def test_privacy_officer_and_admin_never_read_content(engine: PolicyEngine, role: Role) -> None:
    """DOMAIN "Users": whatever their relation to the case, FG and admin get no content action."""
    rows = [row for row in ROWS if row.actor_role is role]
    base = rows[0]
    for category in [None, *Category]:
        for action in (Action.READ, Action.WRITE, Action.DISCLOSE, Action.EXPORT):
            row = Row(
                **{
                    **base.__dict__,
                    "target": "category" if category else "case",
                    "category": category,
                    "case_kind": base.case_kind or ROWS[0].case_kind,
                    "action": action,
                    "in_team": True,
                    "assigned": True,
                    "purpose": True,
                    "release": True,
                    "break_glass": "valid",
                }
            )
            decision = engine.decide(actor_for(row), target_for(row), action, context_for(row))
            assert not decision.allowed, (role, category, action, decision)
