"""Turn a row of decisions.csv into policy facts. Shared by the table test and the benchmark-like tests."""

from __future__ import annotations

import csv
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from vault.domain import Action, CaseKind, Category, OrgType, Role
from vault.policy import Actor, CaseFacts, DecisionContext, GrantFacts, Target

DECISIONS_CSV = Path(__file__).with_name("decisions.csv")
NOW = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)
ACTOR_ID = "user-actor"
CASE_ID = "case-1"
CASE_TEAM = "team-a"
PARTNER_ORG = "org-partner"
DOCUMENT_ID = "doc-1"

JUSTIFICATIONS: dict[str, str | None] = {
    "none": None,
    "short": "urgent",
    # 19 non-blank characters spread over 37: long, but not a justification (D20 counts non-blanks).
    "padded": " ".join("abcdefghijklmnopqrs"),
    "exact20": "child at acute risk now!",  # exactly 20 non-blank characters
    "valid": "Police report acute danger tonight; the case team cannot be reached.",
}


@dataclass(frozen=True)
class Row:
    number: int
    d_rule: str
    actor_role: Role
    in_team: bool
    assigned: bool
    second_factor: bool
    target: str
    case_kind: CaseKind | None
    category: Category | None
    action: Action
    grant_state: str
    break_glass: str
    owner_match: bool
    destroyed: bool
    purpose: bool
    release: bool
    expected_allowed: bool
    expected_rule: str

    @property
    def test_id(self) -> str:
        category = self.category.value if self.category else self.target
        verdict = "allow" if self.expected_allowed else "deny"
        role, action = self.actor_role.value, self.action.value
        return f"{self.d_rule}-{self.number:03d}-{role}-{action}-{category}-{verdict}"


def _yes(value: str) -> bool:
    if value not in ("y", "n"):
        raise ValueError(f"expected y/n, got {value!r}")
    return value == "y"


def load_rows(path: Path = DECISIONS_CSV) -> list[Row]:
    with path.open(newline="", encoding="utf-8") as handle:
        records = list(csv.DictReader(handle))
    rows = []
    for number, rec in enumerate(records, start=1):
        if rec["expected"] not in ("allow", "deny"):
            raise ValueError(f"row {number}: expected must be allow/deny")
        rows.append(
            Row(
                number=number,
                d_rule=rec["d_rule"],
                actor_role=Role(rec["actor_role"]),
                in_team=_yes(rec["in_team"]),
                assigned=_yes(rec["assigned"]),
                second_factor=_yes(rec["second_factor"]),
                target=rec["target"],
                case_kind=None if rec["case_kind"] == "-" else CaseKind(rec["case_kind"]),
                category=None if rec["category"] == "-" else Category(rec["category"]),
                action=Action(rec["action"]),
                grant_state=rec["grant_state"],
                break_glass=rec["break_glass"],
                owner_match=_yes(rec["owner_match"]),
                destroyed=_yes(rec["destroyed"]),
                purpose=_yes(rec["purpose"]),
                release=_yes(rec["release"]),
                expected_allowed=rec["expected"] == "allow",
                expected_rule=rec["expected_rule"],
            )
        )
    return rows


def actor_for(row: Row) -> Actor:
    if row.actor_role is Role.PARTNER:
        org_id, org_type = PARTNER_ORG, OrgType.POLICE
    elif row.actor_role is Role.PROFESSIONAL:
        org_id, org_type = "org-gp", OrgType.GP
    else:
        org_id, org_type = "org-vt", OrgType.VEILIG_THUIS
    return Actor(
        id=ACTOR_ID,
        role=row.actor_role,
        team_ids=frozenset({CASE_TEAM if row.in_team else "team-b"}),
        org_id=org_id,
        org_type=org_type,
        second_factor_verified=row.second_factor,
    )


def target_for(row: Row) -> Target:
    if row.target == "system":
        return Target(None, None, None)
    assert row.case_kind is not None, f"row {row.number}: a case target needs a case kind"
    case = CaseFacts(
        case_id=CASE_ID,
        kind=row.case_kind,
        team_id=CASE_TEAM,
        owner_id=ACTOR_ID if row.owner_match else "user-other-professional",
        assigned_user_ids=frozenset({"user-x", ACTOR_ID} if row.assigned else {"user-x"}),
        destroyed=row.destroyed,
    )
    if row.target == "case":
        return Target(case, None, None)
    if row.target == "category":
        return Target(case, row.category, None)
    if row.target == "document":
        return Target(case, row.category, DOCUMENT_ID)
    raise ValueError(f"row {row.number}: unknown target {row.target!r}")


def grant_for(state: str, category: Category | None) -> GrantFacts | None:
    if state == "none":
        return None
    covered = category or Category.REPORT
    base = GrantFacts(
        grant_id="grant-1",
        case_id=CASE_ID,
        org_id=PARTNER_ORG,
        categories=frozenset({covered}),
        document_ids=frozenset(),
        valid_from=NOW - timedelta(days=1),
        valid_until=NOW + timedelta(days=30),
        revoked=False,
        retrievals_used=0,
        max_retrievals=3,
        reporter_identity_released=False,
    )
    other = Category.SAFETY_ASSESSMENT if covered is not Category.SAFETY_ASSESSMENT else Category.REPORT
    variants: dict[str, dict[str, object]] = {
        "valid": {},
        "reporter_released": {"reporter_identity_released": True},
        "expired": {"valid_from": NOW - timedelta(days=30), "valid_until": NOW - timedelta(hours=1)},
        "expired_released": {
            "valid_from": NOW - timedelta(days=30),
            "valid_until": NOW - timedelta(hours=1),
            "reporter_identity_released": True,
        },
        "at_expiry": {"valid_until": NOW},
        "not_yet_valid": {"valid_from": NOW + timedelta(hours=1)},
        "revoked": {"revoked": True},
        "used_up": {"retrievals_used": 3},
        "other_org": {"org_id": "org-other"},
        "other_case": {"case_id": "case-2"},
        "category_mismatch": {"categories": frozenset({other}), "document_ids": frozenset({"doc-other"})},
        "document_match": {"categories": frozenset(), "document_ids": frozenset({DOCUMENT_ID})},
    }
    if state not in variants:
        raise ValueError(f"unknown grant state {state!r}")
    return replace(base, **variants[state])  # type: ignore[arg-type]


def context_for(row: Row) -> DecisionContext:
    return DecisionContext(
        now=NOW,
        break_glass_justification=JUSTIFICATIONS[row.break_glass],
        grant=grant_for(row.grant_state, row.category),
        reporter_identity_release=row.release,
        own_motion_approvals=(),
        purpose="handover to the local team" if row.purpose else None,
    )
