"""D21: each detector flags its seeded pattern and leaves a near miss alone."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select

from tests.helpers import ctx_for
from tests.logcontrole.conftest import DAY, World, of
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, Decision, Role
from vault.logcontrole.service import Enrolment, Relation, record_enrolment, set_case_protected
from vault.models import CaseWorkflow, FindingEntry, StaffIndex
from vault.services.lookup import lookup_person
from vault.services.subjects import PersonFields, add_subject
from vault.services.subjects import Relation as SubjectRelation

BSN_SUBJECT = "111222333"
BSN_OTHER = "123456782"
NOON = DAY + timedelta(hours=10)  # 11:00 in Amsterdam


def _subject(world: World, case_id: str, *, bsn: str | None = None, address: str | None = None) -> None:
    ctx = ctx_for(world.vault, world.a1, Role.MEDEWERKER)
    add_subject(
        world.vault,
        ctx,
        case_id,
        relation=SubjectRelation.PARENT,
        fields=PersonFields(name="Jan Jansen", bsn=bsn, date_of_birth=date(1980, 1, 2), address=address),
    )


def _enrol(world: World, user: str, enrolment: Enrolment) -> None:
    ctx = world.ctx(user, world.vault.clock.now())
    record_enrolment(world.vault, ctx, enrolment)


def test_d21_own_circle_relation_flagged_near_miss_not(world: World) -> None:
    _subject(world, world.case, bsn=BSN_SUBJECT)
    _subject(world, world.other_case, bsn=BSN_OTHER)
    _enrol(world, world.b1, Enrolment(relations=(Relation(bsn=BSN_SUBJECT),)))
    world.log(world.b1, NOON, case_id=world.case, break_glass=True, justification="x" * 50)
    world.log(world.b1, NOON, case_id=world.other_case, break_glass=True, justification="x" * 50)
    found = of(world.review(), "own_circle")
    assert [(f.actor_id, f.case_id) for f in found] == [(world.b1, world.case)]


def test_d21_own_circle_same_address_flagged(world: World) -> None:
    _subject(world, world.case, address="Kerkstraat 12a, 1234 AB Utrecht")
    _subject(world, world.other_case, address="Kerkstraat 14, 1234 AB Utrecht")
    _enrol(world, world.a2, Enrolment(postcode="1234ab", house_number="12 A"))
    world.log(world.a2, NOON, case_id=world.case)
    world.log(world.a2, NOON, case_id=world.other_case)
    found = of(world.review(), "own_circle")
    assert [(f.actor_id, f.case_id) for f in found] == [(world.a2, world.case)]


def test_d21_enrolment_keeps_only_blind_indexes(world: World) -> None:
    _enrol(world, world.a2, Enrolment(bsn=BSN_OTHER, postcode="1234AB", house_number="12"))
    with world.vault.db.session() as session:
        rows = session.execute(select(StaffIndex.kind, StaffIndex.value)).all()
    assert sorted(k for k, _ in rows) == ["address", "self_bsn"]
    assert all(len(v) == 64 and BSN_OTHER not in v and "1234" not in v for _, v in rows)


def test_d21_colleague_dossier_flagged_owner_not(world: World) -> None:
    _subject(world, world.case, bsn=BSN_SUBJECT)
    _enrol(world, world.b1, Enrolment(bsn=BSN_SUBJECT))  # b1 is a subject of the case
    world.log(world.a2, NOON, case_id=world.case)  # a team member, not assigned
    world.log(world.a1, NOON, case_id=world.case)  # the owner: a near miss
    world.log(world.a2, NOON, case_id=world.other_case)  # no colleague in it: a near miss
    found = of(world.review(), "colleague")
    assert [(f.actor_id, f.case_id) for f in found] == [(world.a2, world.case)]


def test_d21_protected_dossier_read_by_unassigned_flagged(world: World) -> None:
    leader = world.ctx(world.leader, world.vault.clock.now(), Role.TEAMLEIDER)
    set_case_protected(world.vault, leader, world.case, True)
    world.log(world.a2, NOON, case_id=world.case)
    world.log(world.a1, NOON, case_id=world.case)  # owner
    world.log(world.a2, NOON, case_id=world.other_case)  # not protected
    found = of(world.review(), "protected")
    assert [(f.actor_id, f.case_id) for f in found] == [(world.a2, world.case)]


def test_d21_spike_of_distinct_readers_flagged_spread_out_not(world: World) -> None:
    from tests.helpers import make_user

    readers = [make_user(world.vault, Role.MEDEWERKER, teams=[world.team_a]) for _ in range(6)]
    for i, reader in enumerate(readers):
        world.log(reader, NOON + timedelta(minutes=5 * i), case_id=world.case)
        world.log(reader, NOON + timedelta(hours=2 * i), case_id=world.other_case)
    found = of(world.review(spike_readers=6), "spike")
    assert [f.case_id for f in found] == [world.case]
    assert found[0].actor_id is None


def test_d21_volume_far_above_own_and_team_baseline_flagged(world: World) -> None:
    for day in range(1, 8):
        at = NOON - timedelta(days=day)
        for i in range(10):
            world.log(world.a2, at + timedelta(minutes=i), case_id=world.case)
        for i in range(150):
            world.log(world.leader, at + timedelta(seconds=20 * i), case_id=world.case)
    for i in range(120):
        world.log(world.a2, NOON + timedelta(seconds=20 * i), case_id=world.case)
    for i in range(150):  # the team leader's usual day: a near miss
        world.log(world.leader, NOON + timedelta(seconds=20 * i), case_id=world.case)
    found = of(world.review(volume_min_reads=50, volume_factor=3.0), "volume")
    assert [f.actor_id for f in found] == [world.a2]


def test_d21_off_hours_unusual_for_the_person_flagged_night_shift_not(world: World) -> None:
    night = world.b1
    for day in range(1, 11):
        for i in range(25):
            world.log(world.a2, NOON - timedelta(days=day) + timedelta(minutes=10 * i), case_id=world.case)
            world.log(night, DAY - timedelta(days=day) + timedelta(hours=2, minutes=i), case_id=world.case)
    three_am = DAY + timedelta(hours=2)  # 03:00 in Amsterdam
    for i in range(3):
        world.log(world.a2, three_am + timedelta(minutes=i), case_id=world.case)
        world.log(night, three_am + timedelta(minutes=i), case_id=world.case)
    found = of(world.review(), "off_hours")
    assert [f.actor_id for f in found] == [world.a2]


def _lookup(world: World, user: str, at: datetime) -> None:
    lookup_person(world.vault, world.ctx(user, at), bsn=BSN_SUBJECT)


def test_d21_lookup_without_work_on_a_match_flagged_followed_by_work_not(world: World) -> None:
    _subject(world, world.case, bsn=BSN_SUBJECT)
    _lookup(world, world.b1, NOON)  # other team, nothing follows
    _lookup(world, world.a2, NOON)
    world.log(world.a2, NOON + timedelta(hours=2), case_id=world.case)  # work on the match: a near miss
    found = of(world.review(), "lookup")
    assert [(f.actor_id, f.reason) for f in found] == [(world.b1, "other_teams")]


def test_d21_lookup_entry_names_the_matched_case_ids_only(world: World) -> None:
    _subject(world, world.case, bsn=BSN_SUBJECT)
    _lookup(world, world.b1, NOON)
    from vault.audit.queries import entry_by_seq, head_seq

    with world.vault.db.session() as session:
        entry = entry_by_seq(session, head_seq(session))
    assert entry is not None
    assert entry["tag"] == AuditTag.DOSSIER_PERSON_LOOKUP
    assert f'"cases":"{world.case}"' in entry["details"]
    assert BSN_SUBJECT not in entry["details"]


def test_d21_break_glass_short_repeated_text_weighted_up(world: World) -> None:
    world.log(world.b1, NOON, case_id=world.case, break_glass=True, justification="spoed")
    world.log(world.b1, NOON, case_id=world.other_case, break_glass=True, justification="spoed")
    long_text = "Melding van de politie buiten kantoortijd, collega onbereikbaar"
    world.log(world.a2, NOON, case_id=world.case, break_glass=True, justification=long_text)
    world.log(world.a2, NOON + timedelta(hours=1), case_id=world.case)  # work follows
    world.log(world.a1, NOON, case_id=world.case)  # an ordinary read: a near miss
    found = {(f.actor_id, f.case_id): f for f in of(world.review(), "break_glass")}
    assert set(found) == {(world.b1, world.case), (world.b1, world.other_case), (world.a2, world.case)}
    short = found[(world.b1, world.case)]
    assert short.reason == "use+short+repeated+no_work"
    assert found[(world.a2, world.case)].reason == "use"
    assert short.score > found[(world.a2, world.case)].score


def test_d21_probing_repeated_denials_flagged_two_not(world: World) -> None:
    for i in range(3):
        world.log(world.b1, NOON + timedelta(minutes=i), case_id=world.case, decision=Decision.DENY)
    for i in range(2):
        world.log(world.a2, NOON + timedelta(minutes=i), case_id=world.case, decision=Decision.DENY)
    found = of(world.review(), "probing")
    assert [(f.actor_id, f.case_id) for f in found] == [(world.b1, world.case)]


def test_d21_probing_denials_over_many_cases_flagged(world: World) -> None:
    from tests.helpers import new_case

    opener = ctx_for(world.vault, world.a1, Role.MEDEWERKER)
    cases = [new_case(world.vault, opener, world.team_a) for _ in range(4)]
    for case_id in cases:
        world.log(world.b1, NOON, case_id=case_id, decision=Decision.DENY)
    for case_id in cases[:3]:
        world.log(world.a2, NOON, case_id=case_id, decision=Decision.DENY)
    found = of(world.review(), "probing")
    assert {(f.actor_id, f.case_id, f.reason) for f in found} == {(world.b1, None, "many_cases")}


def test_d21_read_long_after_closure_flagged_recently_closed_not(world: World) -> None:
    with world.vault.db.session() as session:
        for case_id, ended in ((world.case, date(2025, 6, 1)), (world.other_case, date(2026, 2, 1))):
            workflow = session.get(CaseWorkflow, case_id)
            assert workflow is not None
            workflow.investigation_ended_on = ended
    world.log(world.a1, NOON, case_id=world.case)
    world.log(world.a1, NOON, case_id=world.other_case)
    found = of(world.review(), "after_closure")
    assert [(f.actor_id, f.case_id) for f in found] == [(world.a1, world.case)]


def test_d21_review_is_idempotent_for_a_period(world: World) -> None:
    for i in range(3):
        world.log(world.b1, NOON + timedelta(minutes=i), case_id=world.case, decision=Decision.DENY)
    first = world.review()
    again = world.review()
    assert [f.id for f in first] == [f.id for f in again]
    assert first
    with world.vault.db.session() as session:
        seqs = session.scalars(select(FindingEntry.seq)).all()
    assert len(seqs) == len(set(seqs)) == 3


def test_d21_protection_is_for_team_leader_or_fg_only(world: World) -> None:
    import pytest

    from vault.errors import Forbidden

    worker = world.ctx(world.a2, world.vault.clock.now())
    with pytest.raises(Forbidden):
        set_case_protected(world.vault, worker, world.case, True)
    fg = Context(
        actor_id=world.fg, role=str(Role.PRIVACY_OFFICER), access_point="test", clock=FrozenClock(NOON)
    )
    set_case_protected(world.vault, fg, world.case, True)
    from vault.errors import NotFound

    with pytest.raises(NotFound):  # an unknown case is a 404, for the FG too (was a server error)
        set_case_protected(world.vault, fg, "00000000-0000-4000-8000-000000000000", True)


def test_d21_volume_many_distinct_cases_in_one_hour_flagged_team_leader_not(world: World) -> None:
    from tests.helpers import new_case

    opener = ctx_for(world.vault, world.a1, Role.MEDEWERKER)
    cases = [new_case(world.vault, opener, world.team_a) for _ in range(30)]
    for day in range(1, 6):  # usual hours: a worker reads 3 cases, the team leader all 30
        at = NOON - timedelta(days=day)
        for i, case_id in enumerate(cases):
            world.log(world.leader, at + timedelta(minutes=i), case_id=case_id)
        for i in range(3):
            world.log(world.a2, at + timedelta(minutes=i), case_id=cases[i])
    for i, case_id in enumerate(cases):  # today both read 30 cases within one hour (30 reads a day)
        world.log(world.a2, NOON + timedelta(minutes=i), case_id=case_id)
        world.log(world.leader, NOON + timedelta(minutes=i), case_id=case_id)
    found = of(world.review(volume_min_cases_hour=20), "volume")
    assert [(f.actor_id, f.reason) for f in found] == [(world.a2, "cases_per_hour")]
