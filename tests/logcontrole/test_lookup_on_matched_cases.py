"""D21 with D15: a person lookup is logged on each case it found (so that case's access report shows
it), and those entries must not count as work on the match that closes the lookup unflagged."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from tests.helpers import ctx_for
from tests.logcontrole.conftest import DAY, World, of
from vault.domain import AuditTag, Role
from vault.models import AuditEntry
from vault.services.lookup import lookup_person
from vault.services.subjects import PersonFields, Relation, add_subject

BSN = "111222333"
NOON = DAY + timedelta(hours=10)


def test_d15_d21_lookup_logged_on_the_found_case_is_still_flagged_when_no_work_follows(world: World) -> None:
    add_subject(
        world.vault,
        ctx_for(world.vault, world.a1, Role.MEDEWERKER),
        world.case,
        relation=Relation.PARENT,
        fields=PersonFields(name="Jan Jansen", bsn=BSN, date_of_birth=date(1980, 1, 2)),
    )
    lookup_person(world.vault, world.ctx(world.b1, NOON), bsn=BSN)
    lookup_person(world.vault, world.ctx(world.b1, NOON + timedelta(hours=1)), bsn=BSN)  # and again
    with world.vault.db.session() as session:
        on_case = session.scalars(
            select(AuditEntry.actor_id).where(
                AuditEntry.tag == str(AuditTag.DOSSIER_PERSON_LOOKUP), AuditEntry.case_id == world.case
            )
        ).all()
    assert list(on_case) == [world.b1, world.b1]
    found = of(world.review(), "lookup")
    assert [(f.actor_id, f.reason) for f in found] == [(world.b1, "other_teams")]
