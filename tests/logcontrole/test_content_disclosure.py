"""D21: an inzage copy and its free-text review list disclose a case's content as a case page does;
the review sees them (own circle, protected case), through the real services and the real log."""

from __future__ import annotations

from datetime import date, timedelta

from tests.helpers import ctx_for
from tests.logcontrole.conftest import DAY, World, of
from vault.domain import Role
from vault.logcontrole.service import Enrolment, Relation, record_enrolment, set_case_protected
from vault.services.inzage import export_for_subject
from vault.services.inzage_review import list_free_text
from vault.services.rights import record_access_request
from vault.services.subjects import PersonFields, add_subject
from vault.services.subjects import Relation as SubjectRelation

NOON = DAY + timedelta(hours=10)  # 11:00 in Amsterdam
BSN = "111222333"


def _subject(world: World) -> str:
    ctx = ctx_for(world.vault, world.a1, Role.MEDEWERKER)
    return add_subject(
        world.vault,
        ctx,
        world.case,
        relation=SubjectRelation.PARENT,
        fields=PersonFields(
            name="Jan Jansen",
            bsn=BSN,
            date_of_birth=date(1980, 1, 2),
            address="Kerkstraat 12, 1234 AB Utrecht",
        ),
    )


def _protect(world: World) -> None:
    leader = world.ctx(world.leader, world.vault.clock.now(), Role.TEAMLEIDER)
    set_case_protected(world.vault, leader, world.case, True)


def test_d21_inzage_export_of_a_protected_case_by_someone_not_assigned_is_flagged(world: World) -> None:
    subject = _subject(world)
    _protect(world)
    export = export_for_subject(world.vault, world.ctx(world.a2, NOON), world.case, subject)
    assert export.as_dict()["subject"]["name"] == "Jan Jansen"  # content reached a2
    found = of(world.review(), "protected")
    assert [(f.actor_id, f.case_id) for f in found] == [(world.a2, world.case)]


def test_d21_inzage_export_by_the_owner_of_a_protected_case_is_not_flagged(world: World) -> None:
    subject = _subject(world)
    _protect(world)
    export_for_subject(world.vault, world.ctx(world.a1, NOON), world.case, subject)
    assert of(world.review(), "protected") == []


def test_d21_inzage_export_of_a_declared_relation_is_flagged_own_circle(world: World) -> None:
    subject = _subject(world)
    record_enrolment(
        world.vault, world.ctx(world.a2, world.vault.clock.now()), Enrolment(relations=(Relation(bsn=BSN),))
    )
    export_for_subject(world.vault, world.ctx(world.a2, NOON), world.case, subject)
    found = of(world.review(), "own_circle")
    assert [(f.actor_id, f.case_id) for f in found] == [(world.a2, world.case)]


def test_d21_inzage_free_text_list_of_a_protected_case_is_flagged(world: World) -> None:
    subject = _subject(world)
    _protect(world)
    request = record_access_request(
        world.vault,
        world.ctx(world.a1, NOON - timedelta(hours=1)),
        world.case,
        subject_id=subject,
        received_on=DAY.date(),
    )
    list_free_text(world.vault, world.ctx(world.a2, NOON), request.id)  # decrypts titles and notes
    found = of(world.review(), "protected")
    assert [(f.actor_id, f.case_id) for f in found] == [(world.a2, world.case)]
