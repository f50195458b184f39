"""Engine behaviour beyond the table: fail closed, refuse unsafe models, reload, D4, no caching."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from vault.domain import Action, CaseKind, Category, OrgType, Role
from vault.domain import Decision as Effect
from vault.errors import ConfigError
from vault.policy import (
    DEFAULT_MODEL_PATH,
    DEFAULT_POLICY_PATH,
    Actor,
    CaseFacts,
    DecisionContext,
    GrantFacts,
    PolicyEngine,
    PolicyHolder,
    Target,
    own_motion_conversion_allowed,
)
from vault.policy.compiled import compile_matcher

from .factbuilder import NOW

STAFF = Actor("u-1", Role.MEDEWERKER, frozenset({"team-a"}), "org-vt", OrgType.VEILIG_THUIS, True)
CASE = CaseFacts("c-1", CaseKind.REPORT, "team-a", None, frozenset(), False)
ADVICE = replace(CASE, kind=CaseKind.ADVICE_HELP_SEEKER)
CTX = DecisionContext(now=NOW)
PARTNER = Actor("p-1", Role.PARTNER, frozenset(), "org-p", OrgType.LOCAL_TEAM, True)


@pytest.fixture(scope="module")
def engine() -> PolicyEngine:
    return PolicyEngine()


def _copy_policy(tmp_path: Path, model: str | None = None, policy: str | None = None) -> tuple[Path, Path]:
    model_path, policy_path = tmp_path / "model.conf", tmp_path / "policy.csv"
    shutil.copy(DEFAULT_MODEL_PATH, model_path)
    shutil.copy(DEFAULT_POLICY_PATH, policy_path)
    if model is not None:
        model_path.write_text(model)
    if policy is not None:
        policy_path.write_text(policy)
    return model_path, policy_path


def _model_with_matcher(matcher: str, effect: str = "priority(p.eft) || deny") -> str:
    return (
        "[request_definition]\nr = sub, obj, act, env\n\n[policy_definition]\n"
        "p = role, act, cat, rel, eft, rule\n\n[policy_effect]\n"
        f"e = {effect}\n\n[matchers]\nm = {matcher}\n"
    )


GOOD = "roleMatch(r.sub.role, p.role) && actMatch(r.act, p.act) && catMatch(r.obj.cat, p.cat)"


# --- fail closed ---------------------------------------------------------------------------------


def test_error_inside_decide_is_a_deny(engine: PolicyEngine) -> None:
    # A naive datetime in a grant makes the comparison raise inside the decision.
    grant = GrantFacts(
        "g",
        "c-1",
        "org-p",
        frozenset({Category.REPORT}),
        frozenset(),
        datetime(2025, 1, 1),
        datetime(2026, 1, 1),
        False,
        0,
        5,
        False,
    )
    decision = engine.decide(
        PARTNER, Target(CASE, Category.REPORT, None), Action.READ, replace(CTX, grant=grant)
    )
    assert decision.allowed is False
    assert decision.rule == "error-deny"


def test_garbage_arguments_deny_without_raising(engine: PolicyEngine) -> None:
    decision = engine.decide(None, None, None, None)  # type: ignore[arg-type]
    assert decision.allowed is False
    assert decision.effect is Effect.DENY


@pytest.mark.parametrize(
    "now", [datetime(2025, 3, 14, 12), datetime(2025, 3, 14, 12, tzinfo=timezone(timedelta(hours=1)))]
)
def test_time_must_be_aware_utc(engine: PolicyEngine, now: datetime) -> None:
    decision = engine.decide(STAFF, Target(CASE, None, None), Action.READ, DecisionContext(now=now))
    assert (decision.allowed, decision.rule) == (False, "invalid-request")


def test_document_without_category_is_refused(engine: PolicyEngine) -> None:
    decision = engine.decide(STAFF, Target(CASE, None, "doc-1"), Action.READ, CTX)
    assert (decision.allowed, decision.rule) == (False, "invalid-request")


def test_staff_role_from_a_partner_organisation_is_refused(engine: PolicyEngine) -> None:
    outsider = replace(STAFF, org_type=OrgType.POLICE)
    assert engine.decide(outsider, Target(CASE, None, None), Action.READ, CTX).rule == "invalid-request"


def test_decision_reason_carries_no_ids(engine: PolicyEngine) -> None:
    decision = engine.decide(STAFF, Target(CASE, Category.REPORT, "doc-9"), Action.READ, CTX)
    assert decision.allowed
    for value in (STAFF.id, CASE.case_id, "team-a", "doc-9"):
        assert value not in decision.reason


# --- no caching: time-dependent decisions follow the clock -----------------------------------------


def test_d9_grant_decision_follows_the_clock_no_cache(engine: PolicyEngine) -> None:
    grant = GrantFacts(
        "g",
        "c-1",
        "org-p",
        frozenset({Category.SAFETY_CONDITIONS}),
        frozenset(),
        NOW - timedelta(hours=1),
        NOW + timedelta(hours=1),
        False,
        0,
        5,
        False,
    )
    target = Target(CASE, Category.SAFETY_CONDITIONS, None)
    inside = DecisionContext(now=NOW, grant=grant)
    after = DecisionContext(now=NOW + timedelta(hours=1), grant=grant)
    assert engine.decide(PARTNER, target, Action.READ, inside).allowed
    assert not engine.decide(PARTNER, target, Action.READ, after).allowed
    assert engine.decide(PARTNER, target, Action.READ, inside).allowed


# --- the model is reviewed code: refuse what would make compiling it unsafe ---------------------------


@pytest.mark.parametrize(
    "matcher",
    [
        GOOD + " && eval(p.rel)",
        GOOD + " && r.sub.__class__ == p.rel",
        GOOD + " && open(p.rel)",
        GOOD + " && (lambda: True)()",
        GOOD + " && [x for x in r.env.relations]",
        GOOD + " && r.sub.role[0] == p.rel",
        GOOD + " && holds(r.env.relations, p.rel) == __import__",
        "actMatch(r.act, p.act) && roleMatch(r.sub.role, p.role) && catMatch(r.obj.cat, p.cat)",
        "catMatch(r.obj.cat, p.cat) || roleMatch(r.sub.role, p.role) && actMatch(r.act, p.act)",
    ],
)
def test_unsafe_or_unindexable_matcher_is_refused(tmp_path: Path, matcher: str) -> None:
    model, policy = _copy_policy(tmp_path, model=_model_with_matcher(matcher))
    with pytest.raises(ConfigError):
        PolicyEngine(model, policy)


def test_only_first_match_effect_is_accepted(tmp_path: Path) -> None:
    model, policy = _copy_policy(tmp_path, model=_model_with_matcher(GOOD, "some(where (p.eft == allow))"))
    with pytest.raises(ConfigError):
        PolicyEngine(model, policy)


@pytest.mark.parametrize(
    "line",
    [
        "p, __import__('os').system('true'), read, content, team, allow, p:x",
        "p, staff, read, content, team+__class__, allow, p:x",
        "p, staff, read, content, team, maybe, p:x",
        "p, staff, read, documents, team, allow, p:x",
        "p, staff, read, content, team, allow",
        "p, staff, read, content, team, allow, staff-read",
    ],
)
def test_malformed_policy_line_is_refused(tmp_path: Path, line: str) -> None:
    model, policy = _copy_policy(tmp_path)
    policy.write_text(policy.read_text() + "\n" + line + "\n")
    with pytest.raises(ConfigError):
        PolicyEngine(model, policy)


def test_policy_values_are_data_never_code() -> None:
    seen: list[object] = []

    def record(value: object, pattern: object) -> bool:
        seen.append(pattern)
        return value == pattern

    matcher = compile_matcher("record(r_sub, p_role)", ("r_sub",), ("p_role",), {"record": record})
    payload = "__import__('os').system('echo pwned')"
    assert matcher("x", payload) is False
    assert seen == [payload]


# --- reload --------------------------------------------------------------------------------------------


def test_reload_swaps_in_a_new_engine_and_keeps_the_old_on_error(tmp_path: Path) -> None:
    model, policy = _copy_policy(tmp_path)
    holder = PolicyHolder(model, policy)
    first = holder.current
    second = holder.reload()
    assert second is not first
    assert holder.current is second

    text = policy.read_text()
    policy.write_text(text.replace("p:staff-team-read\n", "p:staff-team-read-changed\n"))
    third = holder.reload()
    assert (
        holder.decide(STAFF, Target(CASE, None, None), Action.READ, CTX).rule == "p:staff-team-read-changed"
    )
    # first engine is untouched by later reloads: it was never mutated
    assert first.decide(STAFF, Target(CASE, None, None), Action.READ, CTX).rule == "p:staff-team-read"

    policy.write_text(text + "\np, staff, read, content, nonsense, allow, p:bad\n")
    with pytest.raises(ConfigError):
        holder.reload()
    assert holder.current is third


# --- D4 own-motion conversion ---------------------------------------------------------------------------


def test_d4_two_disciplines_and_a_reason_allow_conversion() -> None:
    approvals = (("u-1", Role.MEDEWERKER), ("u-2", Role.VERTROUWENSARTS))
    decision = own_motion_conversion_allowed(approvals, "acute risk, personal talk held")
    assert (decision.allowed, decision.rule) == (True, "d4-own-motion-conversion")


@pytest.mark.parametrize(
    ("approvals", "reason", "rule"),
    [
        ((("u-1", Role.MEDEWERKER), ("u-2", Role.MEDEWERKER)), "r", "d4-two-disciplines-required"),
        ((("u-1", Role.MEDEWERKER), ("u-1", Role.VERTROUWENSARTS)), "r", "d4-two-disciplines-required"),
        ((("u-1", Role.MEDEWERKER),), "r", "d4-two-disciplines-required"),
        ((), "r", "d4-two-disciplines-required"),
        ((("u-1", Role.MEDEWERKER), ("u-2", Role.PARTNER)), "r", "d4-invalid-approval"),
        ((("u-1", Role.MEDEWERKER), ("", Role.VERTROUWENSARTS)), "r", "d4-invalid-approval"),
        ((("u-1", Role.MEDEWERKER), ("u-2", Role.VERTROUWENSARTS)), "  ", "d4-reason-required"),
        ((("u-1", Role.MEDEWERKER), ("u-2", Role.VERTROUWENSARTS)), None, "d4-reason-required"),
    ],
)
def test_d4_conversion_denied_without_two_disciplines_or_reason(
    approvals: tuple[tuple[str, Role], ...], reason: str | None, rule: str
) -> None:
    decision = own_motion_conversion_allowed(approvals, reason)
    assert (decision.allowed, decision.rule) == (False, rule)


def test_d4_conversion_also_needs_write_access_to_the_advice_case(engine: PolicyEngine) -> None:
    approvals = (("u-7", Role.TEAMLEIDER), ("u-8", Role.VERTROUWENSARTS))
    ctx = DecisionContext(now=NOW, own_motion_approvals=approvals, purpose="acute risk after talk")
    assert engine.decide_own_motion_conversion(STAFF, Target(ADVICE, None, None), ctx).allowed
    outsider = replace(STAFF, team_ids=frozenset({"team-z"}))
    assert not engine.decide_own_motion_conversion(outsider, Target(ADVICE, None, None), ctx).allowed
    glass = replace(ctx, break_glass_justification="emergency: child in danger right now")
    assert not engine.decide_own_motion_conversion(outsider, Target(ADVICE, None, None), glass).allowed
    report = engine.decide_own_motion_conversion(STAFF, Target(CASE, None, None), ctx)
    assert (report.allowed, report.rule) == (False, "d4-not-advice")
    no_2fa = replace(STAFF, second_factor_verified=False)
    assert not engine.decide_own_motion_conversion(no_2fa, Target(ADVICE, None, None), ctx).allowed


def test_decision_effect_maps_to_audit_enum() -> None:
    ctx = DecisionContext(now=datetime.now(UTC))
    assert PolicyEngine().decide(STAFF, Target(CASE, None, None), Action.READ, ctx).effect is Effect.ALLOW


def test_string_instead_of_set_cannot_turn_membership_into_substring_match(engine: PolicyEngine) -> None:
    sloppy = replace(STAFF, team_ids="team-a-and-more")  # type: ignore[arg-type]
    decision = engine.decide(sloppy, Target(CASE, None, None), Action.READ, CTX)
    assert (decision.allowed, decision.rule) == (False, "invalid-request")
