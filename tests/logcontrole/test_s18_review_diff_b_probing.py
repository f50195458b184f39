"""Session 18 diff review B (D21): the noon-to-noon span of detector 9 (many cases) does not turn one
burst into two findings."""

from __future__ import annotations

from datetime import timedelta

from tests.helpers import ctx_for, new_case
from tests.logcontrole.conftest import DAY, World, of
from vault.domain import AuditTag, Decision, Role


def _burst_mostly_after_midnight(world: World) -> None:
    """b1 is refused on five cases within an hour (Amsterdam, UTC+1): one at 23:50, four after
    midnight (00:10 … 00:40). The four after midnight alone already fill a calendar day."""
    opener = ctx_for(world.vault, world.a1, Role.MEDEWERKER)
    cases = [world.case, world.other_case, *(new_case(world.vault, opener, world.team_a) for _ in range(3))]
    late = DAY + timedelta(hours=22, minutes=50)
    for minutes, case_id in zip((0, 20, 30, 40, 50), cases, strict=True):
        world.log(
            world.b1,
            late + timedelta(minutes=minutes),
            AuditTag.DOSSIER_ACCESS_DENIED,
            case_id=case_id,
            decision=Decision.DENY,
        )


def test_d21_one_burst_over_midnight_is_one_many_cases_finding(world: World) -> None:
    _burst_mostly_after_midnight(world)
    found = of(world.review(DAY, DAY + timedelta(days=2)), "probing")
    assert len(found) == 1, [(f.day, f.reason) for f in found]


def test_d21_one_burst_over_midnight_is_one_finding_whichever_day_is_reviewed(world: World) -> None:
    _burst_mostly_after_midnight(world)
    world.review(DAY, DAY + timedelta(days=1))
    found = of(world.review(DAY + timedelta(days=1), DAY + timedelta(days=2)), "probing")
    assert len(found) == 1, [(f.day, f.reason) for f in found]
