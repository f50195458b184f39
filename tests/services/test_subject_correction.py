"""Correcting a subject (issue 17): the fields are sealed again under the case key through the gate's
write door, the blind indexes follow (D19: the lookup finds the corrected person, not the old one), the
correction is audited without anything personal, and it is refused outside the actor's scope and, on an
anonymous advice case, without the help seeker's consent (D2)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from tests.helpers import ctx_for, make_team, make_user
from vault.context import Context
from vault.domain import AuditTag, Role
from vault.errors import Forbidden, NotFound
from vault.models import AuditEntry, Subject
from vault.runtime import Vault
from vault.services import lookup, subjects
from vault.services.case_view import read_subjects
from vault.services.cases import open_help_seeker_advice, open_report
from vault.services.person_fields import ConsentScope, PersonFields, Relation, ReporterFields

OLD_BSN, NEW_BSN = "111222333", "123456782"
OLD_NAME, NEW_NAME = "Kanarie Oudnaam", "Kanarie Nieuwnaam"
BORN = date(2015, 3, 1)


def _worker(vault: Vault, team: str) -> Context:
    return ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team]), Role.MEDEWERKER)


def _report_with_subject(vault: Vault, ctx: Context, team: str) -> tuple[str, str]:
    with vault.db.session() as session:
        case_id = open_report(
            session,
            vault,
            ctx,
            team_id=team,
            reporter=ReporterFields(name="Melder", professional=False),
            subjects=[(Relation.CHILD, PersonFields(name=OLD_NAME, bsn=OLD_BSN, date_of_birth=BORN))],
        ).id
    with vault.db.session() as session:
        subject_id = session.scalars(select(Subject.id).where(Subject.case_id == case_id)).one()
    return case_id, subject_id


def _entries(vault: Vault, case_id: str, tag: AuditTag) -> list[AuditEntry]:
    with vault.db.session() as session:
        rows = list(
            session.scalars(
                select(AuditEntry).where(AuditEntry.case_id == case_id, AuditEntry.tag == str(tag))
            )
        )
        session.expunge_all()
        return rows


def test_correct_subject_reseals_updates_the_blind_indexes_and_is_audited(vault: Vault) -> None:
    team = make_team(vault)
    ctx = _worker(vault, team)
    case_id, subject_id = _report_with_subject(vault, ctx, team)
    with vault.db.session() as session:
        before = session.get(Subject, subject_id)
        assert before is not None
        old_cipher, old_index = before.name_enc, before.bsn_index

    subjects.correct_subject(
        vault,
        ctx,
        case_id,
        subject_id,
        relation=Relation.HOUSEHOLD_MEMBER,
        fields=PersonFields(name=NEW_NAME, bsn=NEW_BSN, date_of_birth=date(2015, 3, 2)),
    )

    with vault.db.session() as session:
        after = session.get(Subject, subject_id)
        assert after is not None
        assert after.name_enc != old_cipher
        assert after.bsn_index != old_index
        assert after.address_enc is None  # a field left out is cleared
        assert NEW_NAME.encode() not in (after.name_enc or b"")  # sealed, not stored in clear
    (view,) = read_subjects(vault, ctx, case_id)
    assert (view.relation, view.name, view.bsn, view.date_of_birth) == (
        "household_member",
        NEW_NAME,
        NEW_BSN,
        "2015-03-02",
    )
    # D19: the person lookup follows the correction.
    assert [h.case_id for h in lookup.lookup_person(vault, ctx, bsn=NEW_BSN)] == [case_id]
    assert lookup.lookup_person(vault, ctx, bsn=OLD_BSN) == []
    assert [
        h.case_id for h in lookup.lookup_person(vault, ctx, name=NEW_NAME, date_of_birth=date(2015, 3, 2))
    ] == [case_id]

    (entry,) = _entries(vault, case_id, AuditTag.DOSSIER_SUBJECT_CORRECTED)
    assert entry.object_type == "subject"
    assert entry.object_id == subject_id
    assert entry.actor_id == ctx.actor_id
    for secret in (NEW_NAME, OLD_NAME, NEW_BSN, OLD_BSN, "2015"):
        assert secret not in str(entry.details)


def test_correct_subject_is_refused_outside_the_actors_team(vault: Vault) -> None:
    team, other = make_team(vault), make_team(vault)
    case_id, subject_id = _report_with_subject(vault, _worker(vault, team), team)
    outsider = _worker(vault, other)
    with pytest.raises(Forbidden):
        subjects.correct_subject(
            vault, outsider, case_id, subject_id, relation=Relation.CHILD, fields=PersonFields(name=NEW_NAME)
        )
    (read,) = read_subjects(vault, _worker(vault, team), case_id)
    assert read.name == OLD_NAME
    assert _entries(vault, case_id, AuditTag.DOSSIER_SUBJECT_CORRECTED) == []
    denied = _entries(vault, case_id, AuditTag.DOSSIER_ACCESS_DENIED)
    assert [e.actor_id for e in denied] == [outsider.actor_id]


def test_correct_subject_of_another_case_is_not_found(vault: Vault) -> None:
    team = make_team(vault)
    ctx = _worker(vault, team)
    case_id, _ = _report_with_subject(vault, ctx, team)
    _, foreign_subject = _report_with_subject(vault, ctx, team)
    with pytest.raises(NotFound):
        subjects.correct_subject(
            vault, ctx, case_id, foreign_subject, relation=Relation.CHILD, fields=PersonFields(name=NEW_NAME)
        )


def test_d2_correcting_in_identifying_fields_on_anonymous_advice_needs_consent(vault: Vault) -> None:
    team = make_team(vault)
    ctx = _worker(vault, team)
    with vault.db.session() as session:
        case_id = open_help_seeker_advice(session, vault, ctx, team_id=team).id
    subject_id = subjects.add_subject(
        vault, ctx, case_id, relation=Relation.HELP_SEEKER, fields=PersonFields()
    )
    with pytest.raises(subjects.ConsentRequired):
        subjects.correct_subject(
            vault, ctx, case_id, subject_id, relation=Relation.HELP_SEEKER, fields=PersonFields(name=NEW_NAME)
        )
    (denied,) = _entries(vault, case_id, AuditTag.DOSSIER_ACCESS_DENIED)
    assert denied.rule == "d2-consent-required"
    consent = subjects.record_consent(
        vault, ctx, case_id, scope=ConsentScope.REGISTER_PERSONAL_DATA, given_by=Relation.HELP_SEEKER
    )
    subjects.correct_subject(
        vault, ctx, case_id, subject_id, relation=Relation.HELP_SEEKER, fields=PersonFields(name=NEW_NAME)
    )
    with vault.db.session() as session:
        row = session.get(Subject, subject_id)
        assert row is not None
        assert row.consent_id == consent
