"""Session 18 review of today's diff (reviewer A): subjects, the professional's advice client, journal
note ids. Each test failed on the code before its fix.

Real SQLite, real crypto and Casbin; the clock (2 March 2026 in ``tests.web.world``) is the only double.
"""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from sqlalchemy import select

from tests.helpers import make_org, make_user, team_id_of
from tests.web.world import TEAM, World, _ctx
from vault.domain import AuditTag, OrgType, Role
from vault.domain import Decision as Effect
from vault.errors import Conflict, InvalidInput
from vault.models import AuditEntry, Case, CaseNote, Subject
from vault.runtime import Vault
from vault.services import cases, journal, subjects
from vault.services.person_fields import PersonFields, Relation
from vault.transaction import transaction

BSN_A = "111222333"  # both pass the eleven-test
BSN_B = "123456782"


def test_s18_two_different_people_with_the_same_name_and_birth_date_are_both_kept(
    vault: Vault, world: World
) -> None:
    """A1: the subject form refused the second of two people with the same name and date of birth
    although their BSNs differ (a father and a son of the same name born the same day cannot be; two
    unrelated people of a household can): different BSNs are different people. The same BSN is still
    refused, and so is the same name + birth date when one of the two has no BSN."""
    ctx = _ctx(vault, world.worker)
    born = date(1980, 4, 4)
    first = PersonFields(name="Jan de Vries", date_of_birth=born, bsn=BSN_A)
    other = PersonFields(name="Jan de Vries", date_of_birth=born, bsn=BSN_B)
    subjects.add_subject(vault, ctx, world.case_id, relation=Relation.PARENT, fields=first)
    subjects.add_subject(vault, ctx, world.case_id, relation=Relation.OTHER, fields=other)
    with vault.db.session() as session:
        rows = list(session.scalars(select(Subject.id).where(Subject.case_id == world.case_id)))
    assert len(rows) == 3
    with pytest.raises(Conflict):  # the same BSN again
        subjects.add_subject(
            vault, ctx, world.case_id, relation=Relation.PARENT, fields=PersonFields(bsn=BSN_A)
        )
    with pytest.raises(Conflict):  # the same name and birth date, without a BSN to tell them apart
        subjects.add_subject(
            vault,
            ctx,
            world.case_id,
            relation=Relation.PARENT,
            fields=PersonFields(name="Jan de Vries", date_of_birth=born),
        )


def test_d19_a_professionals_advice_client_born_tomorrow_is_refused(vault: Vault, world: World) -> None:
    """A2: a report's subjects and the subject form refuse a date of birth after today; the
    professional's advice (API ``POST /api/cases/advice-professional``, CLI) still took a client born
    tomorrow and stored a pseudonym for a person who cannot exist, whom no later advice finds."""
    pro = make_user(vault, Role.PROFESSIONAL, org_id=make_org(vault, OrgType.SCHOOL))
    ctx = _ctx(vault, world.worker)
    tomorrow = PersonFields(name="Toekomst Kind", date_of_birth=date(2026, 3, 3))
    before, team_id = _count(vault), team_id_of(vault, TEAM)
    with pytest.raises(InvalidInput), transaction(vault.db) as session:
        cases.open_professional_advice(
            session,
            vault,
            ctx,
            professional_id=pro,
            meldcode_step=2,
            team_id=team_id,
            client=tomorrow,
        )
    assert _count(vault) == before


def _count(vault: Vault) -> int:
    with vault.db.session() as session:
        return len(list(session.scalars(select(Case.id))))


def test_d21_a_note_id_of_another_case_is_a_refusal_in_the_log(vault: Vault, world: World) -> None:
    """A3: the client chooses a note's id. An id taken by a note of another case was refused (409,
    ``journal-form-already-used``) with nothing in the log, while a free id is stored: an unlogged
    yes/no answer to "is this a note somewhere?", invisible to the daily review (D21). A repeat of the
    same note stays unlogged (it writes nothing); a taken id of another case is audited, ids only."""
    ctx, team_id = _ctx(vault, world.worker), team_id_of(vault, TEAM)
    with transaction(vault.db) as session:
        other_case = cases.open_report(
            session,
            vault,
            ctx,
            team_id=team_id,
            reporter=subjects.ReporterFields(name="Een Melder", professional=False),
            subjects=[(Relation.CHILD, PersonFields(name="Ander Kind"))],
        ).id
    taken = journal.add_note(vault, ctx, other_case, text="Notitie elders", note_id=str(uuid.uuid4()))
    with pytest.raises(Conflict) as refused:
        journal.add_note(vault, ctx, world.case_id, text="Een notitie", note_id=taken)
    assert refused.value.rule == journal.FORM_USED
    mine = journal.add_note(vault, ctx, world.case_id, text="Eigen notitie", note_id=str(uuid.uuid4()))
    with pytest.raises(Conflict) as again:
        journal.add_note(vault, ctx, world.case_id, text="Eigen notitie", note_id=mine)
    assert again.value.rule == journal.ALREADY_ADDED
    with vault.db.session() as session:
        denied = session.scalars(
            select(AuditEntry).where(
                AuditEntry.decision == str(Effect.DENY), AuditEntry.case_id == world.case_id
            )
        ).all()
        notes = list(session.scalars(select(CaseNote.id).where(CaseNote.case_id == world.case_id)))
    assert len(denied) == 1, [d.rule for d in denied]
    assert denied[0].rule == journal.FORM_USED
    assert str(AuditTag.DOSSIER_NOTE_ADDED) in str(denied[0].details)
    assert taken not in str(denied[0].details)
    assert "otitie" not in str(denied[0].details)
    assert notes == [mine]
