"""Session 16 review (D21): patterns the log review must not miss by a trivial variation.

- O1: a team leader lifts a case's protection, reads it (not assigned), and leaves it lifted until
  the review has run: the "protected" detector judged the flag as it is at review time, so the read
  was never flagged.
- O2: night reads spread over midnight (two before, two after) were counted per calendar day, so
  neither day reached the minimum of three and the night went unflagged.
- O3: a team leader's re-identification of a person (D3) reveals which advice cases are about them,
  like a person lookup (D19); with no work following it was never flagged as a curiosity lookup.
"""

from __future__ import annotations

from datetime import date, timedelta

from tests.helpers import ctx_for
from tests.logcontrole.conftest import DAY, World, of
from vault.domain import Decision, Role
from vault.logcontrole.service import set_case_protected
from vault.services.lookup import ReidentificationReason, lookup_person, reidentify_person
from vault.services.subjects import PersonFields

NOON = DAY + timedelta(hours=10)  # 11:00 in Amsterdam
BSN = "111222333"


def test_d21_o1_lifting_the_protection_before_a_read_does_not_hide_the_read(world: World) -> None:
    leader = world.ctx(world.leader, DAY - timedelta(days=2), Role.TEAMLEIDER)
    set_case_protected(world.vault, leader, world.case, True)
    # The team leader (not assigned, not the owner) lifts the protection, then reads the case.
    lifting = world.ctx(world.leader, NOON - timedelta(minutes=5), Role.TEAMLEIDER)
    set_case_protected(world.vault, lifting, world.case, False)
    world.log(world.leader, NOON, case_id=world.case)
    found = of(world.review(), "protected")
    assert [(f.actor_id, f.case_id) for f in found] == [(world.leader, world.case)], (
        "a read of a case whose protection was lifted just before is not flagged"
    )


def test_d21_o1_a_case_never_protected_is_not_flagged(world: World) -> None:
    world.log(world.leader, NOON, case_id=world.case)
    assert of(world.review(), "protected") == []


def test_d21_o2_night_reads_spread_over_midnight_are_one_night(world: World) -> None:
    # 23:30 and 23:45 on 10 March, 00:15 and 00:30 on 11 March (Amsterdam, UTC+1 in March).
    late = DAY + timedelta(hours=22, minutes=30)
    for minutes in (0, 15, 45, 60):
        world.log(world.a2, late + timedelta(minutes=minutes), case_id=world.case)
    found = of(world.review(DAY, DAY + timedelta(days=2)), "off_hours")
    assert [f.actor_id for f in found] == [world.a2], "four night reads over midnight were not flagged"
    assert len(found) == 1


def test_d21_o2_the_night_is_one_finding_whichever_period_is_reviewed(world: World) -> None:
    late = DAY + timedelta(hours=22, minutes=30)
    for minutes in (0, 15, 45, 60):
        world.log(world.a2, late + timedelta(minutes=minutes), case_id=world.case)
    world.review(DAY, DAY + timedelta(days=1))
    found = of(world.review(DAY + timedelta(days=1), DAY + timedelta(days=2)), "off_hours")
    assert len(found) == 1, "two reviews of adjacent days count one night twice (or not at all)"
    found = of(world.review(DAY, DAY + timedelta(days=2)), "off_hours")
    assert len(found) == 1


def test_d21_o3_a_reidentification_without_work_is_flagged_as_a_lookup(world: World) -> None:
    from tests.helpers import make_org, make_user
    from vault.domain import OrgType
    from vault.services import cases

    other_leader = make_user(world.vault, Role.TEAMLEIDER, teams=[world.team_b])
    pro = make_user(world.vault, Role.PROFESSIONAL, org_id=make_org(world.vault, OrgType.SCHOOL))
    client = PersonFields(name="Jan Jansen", bsn=BSN, date_of_birth=date(2015, 1, 2))
    worker = ctx_for(world.vault, world.a1, Role.MEDEWERKER)
    with world.vault.db.session() as session:
        advice = cases.open_professional_advice(
            session,
            world.vault,
            worker,
            professional_id=pro,
            meldcode_step=2,
            team_id=world.team_a,
            client=client,
        ).id
    found = reidentify_person(
        world.vault,
        world.ctx(other_leader, NOON, Role.TEAMLEIDER),
        bsn=BSN,
        reason=ReidentificationReason.LINK_REPORT,
        explanation="Controle op eerdere adviesvragen over deze persoon",
    )
    assert [h.case_id for h in found.cases] == [advice]
    found_rows = of(world.review(), "lookup")
    assert [(f.actor_id, f.reason) for f in found_rows] == [(other_leader, "other_teams")], (
        "a re-identification of another team's advice client with no work after it is not seen"
    )


def test_d21_o3_a_reidentification_followed_by_work_is_not_flagged(world: World) -> None:
    from tests.helpers import make_org, make_user
    from vault.domain import OrgType
    from vault.services import cases

    pro = make_user(world.vault, Role.PROFESSIONAL, org_id=make_org(world.vault, OrgType.SCHOOL))
    client = PersonFields(name="Jan Jansen", bsn=BSN, date_of_birth=date(2015, 1, 2))
    worker = ctx_for(world.vault, world.a1, Role.MEDEWERKER)
    with world.vault.db.session() as session:
        advice = cases.open_professional_advice(
            session,
            world.vault,
            worker,
            professional_id=pro,
            meldcode_step=2,
            team_id=world.team_a,
            client=client,
        ).id
    reidentify_person(
        world.vault,
        world.ctx(world.leader, NOON, Role.TEAMLEIDER),
        bsn=BSN,
        reason=ReidentificationReason.LINK_REPORT,
        explanation="Controle op eerdere adviesvragen over deze persoon",
    )
    world.log(world.leader, NOON + timedelta(hours=1), case_id=advice)
    assert of(world.review(), "lookup") == []


def test_d20_d21_o7_a_lookup_after_an_emergency_access_is_no_work_on_the_case(world: World) -> None:
    """O7: "work on a case" was any allowed entry with its case id, so the per-case entries of a person
    lookup (D19) made right after a break-the-glass read took away its "no work followed" weight."""
    from tests.logcontrole.test_detectors import _subject

    _subject(world, world.case, bsn=BSN)
    text = "Melding van de politie buiten kantoortijd, collega onbereikbaar"
    world.log(world.b1, NOON, case_id=world.case, break_glass=True, justification=text)
    lookup_person(world.vault, world.ctx(world.b1, NOON + timedelta(minutes=2)), bsn=BSN)
    found = of(world.review(), "break_glass")
    assert [(f.actor_id, f.reason) for f in found] == [(world.b1, "use+no_work")], (
        "a person lookup after an emergency access counts as work on the case"
    )


def test_d21_o8_denials_on_one_case_spread_over_midnight_are_probing(world: World) -> None:
    """O8: two refused reads of one case before midnight and two after are four attempts within half
    an hour, but two on each day: under ``probe_denials_one_case`` (3) on both."""
    late = DAY + timedelta(hours=22, minutes=45)  # 23:45 in Amsterdam
    for minutes in (0, 5, 20, 25):
        world.log(world.b1, late + timedelta(minutes=minutes), case_id=world.case, decision=Decision.DENY)
    found = of(world.review(DAY, DAY + timedelta(days=2)), "probing")
    assert [(f.actor_id, f.case_id) for f in found] == [(world.b1, world.case)]


def test_d21_o8_a_chain_over_midnight_is_one_finding_whichever_day_is_reviewed(world: World) -> None:
    """O8: the day's review that saw two refusals flags nothing; the next day's review reads the day
    before back and finds the chain of four, keyed by its first refusal's day; a rerun of the first
    day finds the same one (no second finding)."""
    # 16:00 and 17:30 in Amsterdam (office hours, before the night the next review reads whole), then
    # 01:30 and 01:40 on the next UTC day: the next day's review reads the afternoon back.
    first = DAY + timedelta(hours=15)
    for minutes in (0, 90):
        world.log(world.b1, first + timedelta(minutes=minutes), case_id=world.case, decision=Decision.DENY)
    assert of(world.review(DAY, DAY + timedelta(days=1)), "probing") == []
    for minutes in (570, 580):
        world.log(world.b1, first + timedelta(minutes=minutes), case_id=world.case, decision=Decision.DENY)
    found = of(world.review(DAY + timedelta(days=1), DAY + timedelta(days=2)), "probing")
    assert [(f.actor_id, f.case_id, f.day) for f in found] == [(world.b1, world.case, DAY.date().isoformat())]
    again = of(world.review(DAY, DAY + timedelta(days=1)), "probing")
    assert [f.id for f in again] == [found[0].id]
    assert again[0].first_at == first
    assert again[0].last_at == first + timedelta(minutes=580)


def test_d21_o8_refusals_more_than_a_day_apart_are_no_chain(world: World) -> None:
    """O8, the near miss: three refusals of one case, each more than 24 hours after the one before,
    are no probing (nor is one of them counted twice by overlapping reviews)."""
    for days in (0, 1, 2):
        when = DAY + timedelta(days=days, hours=days + 8)
        world.log(world.b1, when, case_id=world.case, decision=Decision.DENY)
    assert of(world.review(DAY, DAY + timedelta(days=3)), "probing") == []
