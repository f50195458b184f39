"""D21 off hours: a person's usual hours are learnt from the days before the judged day only, and an
hour is usual only when it was worked on several of those days; a binge cannot make itself usual."""

from __future__ import annotations

from datetime import timedelta

from tests.logcontrole.conftest import DAY, World, of

NOON = DAY + timedelta(hours=10)  # 11:00 in Amsterdam
THREE_AM = DAY + timedelta(hours=2)  # 03:00 in Amsterdam


def _day_worker(world: World, user: str, days: int = 10) -> None:
    for day in range(1, days + 1):
        for i in range(25):
            world.log(user, NOON - timedelta(days=day) + timedelta(minutes=10 * i), case_id=world.case)


def test_d21_off_hours_binge_is_not_learnt_from_its_own_day(world: World) -> None:
    _day_worker(world, world.a2)  # 250 office-hour reads before the day
    for i in range(30):  # 30 / 280 > 2 %: usual if the day judged itself
        world.log(world.a2, THREE_AM + timedelta(minutes=i), case_id=world.case)
    found = of(world.review(), "off_hours")
    assert [(f.actor_id, f.day) for f in found] == [(world.a2, DAY.date().isoformat())]


def test_d21_off_hours_one_earlier_binge_does_not_make_the_hour_usual(world: World) -> None:
    _day_worker(world, world.a2)
    for i in range(20):  # one night a week ago: 8 % of the baseline, but on one day only
        world.log(world.a2, THREE_AM - timedelta(days=7) + timedelta(minutes=i), case_id=world.case)
    for i in range(3):
        world.log(world.a2, THREE_AM + timedelta(minutes=i), case_id=world.case)
    assert [f.actor_id for f in of(world.review(), "off_hours")] == [world.a2]


def test_d21_off_hours_a_night_worked_on_several_days_is_usual(world: World) -> None:
    night = world.b1
    for day in range(1, 11):
        for i in range(25):
            world.log(night, THREE_AM - timedelta(days=day) + timedelta(minutes=i), case_id=world.other_case)
    for i in range(10):
        world.log(night, THREE_AM + timedelta(minutes=i), case_id=world.other_case)
    assert of(world.review(), "off_hours") == []


def test_d21_off_hours_each_day_of_a_long_review_is_judged_by_the_days_before_it(world: World) -> None:
    _day_worker(world, world.a2, days=12)
    for i in range(10):  # the second day of a two-day review
        world.log(world.a2, THREE_AM + timedelta(days=1, minutes=i), case_id=world.case)
    found = of(world.review(DAY - timedelta(days=1), DAY + timedelta(days=2)), "off_hours")
    assert [(f.actor_id, f.day) for f in found] == [(world.a2, (DAY + timedelta(days=1)).date().isoformat())]
