"""D21: a staff member working in the dossier they are themselves a subject of ("own dossier") is
flagged, whatever their assignment.

A team leader may assign any case of the team to themselves, also one about themselves; a case
worker owns the report they opened about themselves. Being owner or assigned makes a read "work"
for the other detectors, never for one's own dossier. Handing out the assignment of one's own
dossier (to oneself or to someone else) is flagged too. A colleague who works on a case about
another colleague stays silent (the near miss: reason ``colleague_subject`` needs ``not own``).
"""

from __future__ import annotations

from datetime import date, timedelta

from tests.helpers import ctx_for
from tests.logcontrole.conftest import DAY, World, of
from vault.domain import Role
from vault.logcontrole.service import Enrolment, record_enrolment
from vault.models import Case
from vault.services.assignments import assign_case
from vault.services.subjects import PersonFields, Relation, add_subject

BSN_STAFF = "111222333"
NOON = DAY + timedelta(hours=10)  # 11:00 in Amsterdam


def _staff_is_parent(world: World, user: str) -> None:
    """``user`` is a parent in ``world.case`` (a blind-index match of their own enrolment)."""
    add_subject(
        world.vault,
        ctx_for(world.vault, world.a1, Role.MEDEWERKER),
        world.case,
        relation=Relation.PARENT,
        fields=PersonFields(name="Jan Jansen", bsn=BSN_STAFF, date_of_birth=date(1980, 1, 2)),
    )
    record_enrolment(world.vault, world.ctx(user, world.vault.clock.now()), Enrolment(bsn=BSN_STAFF))


def _colleague(world: World) -> list[tuple[str | None, str | None, str]]:
    return [(f.actor_id, f.case_id, f.reason) for f in of(world.review(), "colleague")]


def test_d21_reading_ones_own_dossier_is_flagged_even_when_self_assigned(world: World) -> None:
    _staff_is_parent(world, world.leader)
    leader = world.ctx(world.leader, world.vault.clock.now(), Role.TEAMLEIDER)
    assert assign_case(world.vault, leader, world.case, world.leader)

    world.log(world.leader, NOON, case_id=world.case)  # reads the dossier about themselves
    assert _colleague(world) == [(world.leader, world.case, "own_dossier")]


def test_d21_reading_ones_own_dossier_is_flagged_for_its_owner(world: World) -> None:
    _staff_is_parent(world, world.a1)  # a1 owns the case (opened the report about themselves)
    world.log(world.a1, NOON, case_id=world.case)
    assert _colleague(world) == [(world.a1, world.case, "own_dossier")]


def test_d21_assigning_ones_own_dossier_is_flagged(world: World) -> None:
    """The self-assignment itself is evidence, even with no read on that day."""
    _staff_is_parent(world, world.leader)
    leader = world.ctx(world.leader, NOON, Role.TEAMLEIDER)
    assert assign_case(world.vault, leader, world.case, world.leader)
    assert _colleague(world) == [(world.leader, world.case, "own_dossier")]


def test_d21_the_assigned_worker_on_a_colleagues_case_is_not_flagged(world: World) -> None:
    """The near miss: a2 is assigned to the case about colleague b1 and reads it for work."""
    _staff_is_parent(world, world.b1)
    with world.vault.db.session() as session:
        row = session.get(Case, world.case)
        assert row is not None
        row.owner_id = world.a2
    world.log(world.a2, NOON, case_id=world.case)
    world.log(world.b1, NOON, case_id=world.case, break_glass=True, justification="x" * 50)
    assert _colleague(world) == [(world.b1, world.case, "own_dossier")]
