"""A small organisation for the log review tests: two teams, their staff, a privacy officer, cases.

Audit entries are written with the real ``record`` under a clock set to the moment wanted (the only
test double); the review then runs over the real log.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from tests.helpers import ctx_for, make_team, make_user, new_case
from vault.audit import record
from vault.audit.break_glass import note_emergency_access
from vault.audit.log import DetailValue
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, Decision, Role
from vault.logcontrole.engine import run_review
from vault.logcontrole.settings import ReviewSettings
from vault.logcontrole.store import FindingRow, list_findings
from vault.models import Case
from vault.runtime import Vault

DAY = datetime(2026, 3, 10, tzinfo=UTC)  # the reviewed day (UTC); 10:00 UTC is 11:00 in Amsterdam


@dataclass
class World:
    vault: Vault
    team_a: str
    team_b: str
    a1: str  # owner of the cases
    a2: str  # same team, not assigned
    b1: str  # other team
    leader: str
    fg: str
    case: str
    other_case: str

    def ctx(self, user: str, at: datetime, role: Role = Role.MEDEWERKER) -> Context:
        base = ctx_for(self.vault, user, role)
        return Context(
            actor_id=base.actor_id,
            role=base.role,
            access_point="test",
            second_factor_verified=True,
            factor_checked_at=at,
            session_id=f"s-{user[:8]}",
            clock=FrozenClock(at),
        )

    def log(
        self,
        user: str,
        at: datetime,
        tag: AuditTag = AuditTag.DOSSIER_CASE_READ,
        *,
        case_id: str | None = None,
        decision: Decision = Decision.ALLOW,
        break_glass: bool = False,
        justification: str | None = None,
        details: Mapping[str, DetailValue] | None = None,
    ) -> int:
        ctx = self.ctx(user, at)
        with self.vault.db.session() as session:
            seq = record(
                session,
                ctx,
                tag,
                case_id=case_id,
                object_type="case",
                object_id=case_id,
                decision=decision,
                break_glass=break_glass,
                details=details,
            )
            if break_glass and case_id is not None:
                note_emergency_access(session, self.vault, ctx, case_id, seq, justification)
        return seq

    def review(
        self, start: datetime = DAY, end: datetime | None = None, **overrides: float
    ) -> list[FindingRow]:
        settings = ReviewSettings(**overrides)  # type: ignore[arg-type]
        ctx = Context.system(access_point="test", clock=FrozenClock(DAY + timedelta(days=3)))
        run_review(self.vault, ctx, start, end or start + timedelta(days=1), settings=settings)
        with self.vault.db.session() as session:
            return list_findings(session, limit=1000)


@pytest.fixture
def world(vault: Vault) -> World:
    team_a, team_b = make_team(vault), make_team(vault)
    a1 = make_user(vault, Role.MEDEWERKER, teams=[team_a])
    a2 = make_user(vault, Role.MEDEWERKER, teams=[team_a])
    b1 = make_user(vault, Role.MEDEWERKER, teams=[team_b])
    leader = make_user(vault, Role.TEAMLEIDER, teams=[team_a])
    fg = make_user(vault, Role.PRIVACY_OFFICER)
    opener = ctx_for(vault, a1, Role.MEDEWERKER)
    case = new_case(vault, opener, team_a)
    other_case = new_case(vault, opener, team_a)
    with vault.db.session() as session:
        for case_id in (case, other_case):
            row = session.get(Case, case_id)
            assert row is not None
            row.owner_id = a1
    return World(vault, team_a, team_b, a1, a2, b1, leader, fg, case, other_case)


def of(findings: list[FindingRow], detector: str) -> list[FindingRow]:
    return [f for f in findings if f.detector == detector]
