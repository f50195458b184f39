"""D17, D3, D9/D10, "Users": the domain's fixed rules are checked when a policy loads.

One broad line added in a policy change — an allow above the D17 second-factor deny, an administrator
or privacy officer allowed content, a partner without a grant, a professional outside their own advice
case, any role and any action — is refused at load with a ``ConfigError`` naming the file line and the
rule id, and a reload that meets it keeps the engine it had (review finding P3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from vault.domain import Action, CaseKind, Category, OrgType, Role
from vault.errors import ConfigError
from vault.policy import (
    DEFAULT_MODEL_PATH,
    DEFAULT_POLICY_PATH,
    Actor,
    CaseFacts,
    DecisionContext,
    PolicyEngine,
    PolicyHolder,
    Target,
)

from .factbuilder import NOW

CASE = CaseFacts("c-1", CaseKind.REPORT, "team-a", None, frozenset(), False)
STAFF = Actor("u-1", Role.MEDEWERKER, frozenset({"team-a"}), "org-vt", OrgType.VEILIG_THUIS, True)

# name: (line, insert before the first line starting with this (None: first line), what must be named)
BROAD_LINES = {
    # first match wins: this voids the D17 deny and every deny below it
    "d17-everything-first": ("p, *, *, any, always, allow, p:everything", None, "D17"),
    "d17-staff-before-the-deny": ("p, staff, read, content, team, allow, p:early", None, "D17"),
    "users-admin-reads-content": (
        "p, admin, read, content, always, allow, p:admin-helpdesk",
        "p, admin,",
        "admin",
    ),
    "users-admin-exports": ("p, admin, export, report, always, allow, p:admin-export", "p, admin,", "admin"),
    "users-fg-reads-a-report": (
        "p, privacy_officer, read, report, always, allow, p:fg-read",
        "p, privacy_officer, audit",
        "privacy_officer",
    ),
    "users-fg-via-any-role": (
        "p, *, disclose, investigation, team+purpose, allow, p:anyone",
        "p, privacy_officer,",
        "privacy_officer",
    ),
    "d10-partner-browses": (
        "p, partner, read, content, always, allow, p:partner-browse",
        "p, partner, read, case",
        "grant",
    ),
    "d3-professional-team": (
        "p, professional, read, content, team, allow, p:pro-team",
        "p, professional, read",
        "own advice case",
    ),
    "any-role-any-action": (
        "p, *, *, system, always, allow, p:anything-system",
        "p, partner, read, case",
        "any role",
    ),
    # D20: break-the-glass is read-only, never the reporter's identity (D8), medical only for a
    # vertrouwensarts (review B7)
    "d20-write-under-break-glass": (
        "p, staff, write, content, break_glass, allow, p:break-glass-write",
        "p, staff, read, content, break_glass",
        "D20",
    ),
    "d20-export-under-break-glass": (
        "p, staff, export, content, break_glass+purpose, allow, p:break-glass-export",
        "p, staff, read, content, break_glass",
        "D20",
    ),
    "d20-administer-under-break-glass": (
        "p, teamleider, administer, case, break_glass, allow, p:break-glass-assign",
        "p, staff, read, content, break_glass",
        "D20",
    ),
    "d8-reporter-under-break-glass": (
        "p, staff, read, reporter_identity, break_glass, allow, p:break-glass-reporter",
        "p, staff, read, reporter_identity, team",
        "D8",
    ),
    "d20-medical-medewerker-under-break-glass": (
        "p, staff, read, medical, break_glass, allow, p:break-glass-medical-staff",
        "p, vertrouwensarts, read, medical, break_glass",
        "only a vertrouwensarts",
    ),
}


def _policy_with(tmp_path: Path, line: str, before: str | None) -> tuple[Path, int]:
    """The shipped policy with ``line`` inserted; the file line number it lands on."""
    lines = DEFAULT_POLICY_PATH.read_text().splitlines()
    at = 0 if before is None else next(i for i, text in enumerate(lines) if text.startswith(before))
    lines.insert(at, line)
    path = tmp_path / "policy.csv"
    path.write_text("\n".join(lines) + "\n")
    return path, at + 1


def test_d17_the_shipped_policy_keeps_the_fixed_rules() -> None:
    engine = PolicyEngine(DEFAULT_MODEL_PATH, DEFAULT_POLICY_PATH)
    assert engine.lines[0].rule == "p:d17-second-factor-required"


@pytest.mark.parametrize("name", sorted(BROAD_LINES))
def test_d17_d10_a_too_broad_policy_line_is_refused_naming_its_line(tmp_path: Path, name: str) -> None:
    line, before, named = BROAD_LINES[name]
    path, number = _policy_with(tmp_path, line, before)
    rule = line.rsplit(", ", 1)[1]
    with pytest.raises(ConfigError) as refused:
        PolicyEngine(DEFAULT_MODEL_PATH, path)
    message = refused.value.message
    assert f"policy.csv line {number} ({rule})" in message
    assert named in message


def test_d17_a_policy_without_the_second_factor_deny_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "policy.csv"
    path.write_text(
        "\n".join(
            line
            for line in DEFAULT_POLICY_PATH.read_text().splitlines()
            if "p:d17-second-factor-required" not in line
        )
        + "\n"
    )
    with pytest.raises(ConfigError, match="D17"):
        PolicyEngine(DEFAULT_MODEL_PATH, path)


@pytest.mark.parametrize(
    "line",
    [
        # unreachable: the D17 deny answers every request without a second factor first
        "p, *, read, content, no_second_factor, allow, p:never-reached",
        # shadowed: the administrator's own deny-all line comes first
        "p, admin, read, content, always, allow, p:admin-after-its-deny",
        # a partner through a grant, a professional on their own advice case: what the domain allows
        "p, partner, read, correspondence, grant, allow, p:partner-grant-correspondence",
        "p, professional, read, report, owner, allow, p:professional-own-report",
        "p, teamleider, read, content, team, allow, p:teamleider-extra",
    ],
)
def test_d17_a_line_within_the_fixed_rules_still_loads(tmp_path: Path, line: str) -> None:
    path, _ = _policy_with(tmp_path, line, "p, partner, read, case")
    PolicyEngine(DEFAULT_MODEL_PATH, path)


def test_d17_a_reload_into_a_broad_policy_keeps_the_engine_in_force(tmp_path: Path) -> None:
    path = tmp_path / "policy.csv"
    path.write_text(DEFAULT_POLICY_PATH.read_text())
    holder = PolicyHolder(DEFAULT_MODEL_PATH, path)
    before = holder.current
    broad, _ = _policy_with(tmp_path, "p, *, *, any, always, allow, p:everything", None)
    assert broad == path
    with pytest.raises(ConfigError, match="p:everything"):
        holder.reload()
    assert holder.current is before
    no_second_factor = Actor(
        "u-1", Role.MEDEWERKER, frozenset({"team-a"}), "org-vt", OrgType.VEILIG_THUIS, False
    )
    decision = holder.decide(
        no_second_factor, Target(CASE, Category.REPORT.value, None), Action.READ, DecisionContext(now=NOW)
    )
    assert (decision.allowed, decision.rule) == (False, "p:d17-second-factor-required")
    assert holder.decide(STAFF, Target(CASE, None, None), Action.READ, DecisionContext(now=NOW)).allowed
