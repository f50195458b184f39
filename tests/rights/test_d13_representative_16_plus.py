"""D13 (Wmo 2015 art. 5.3.2; WGBO art. 7:465 lid 1, Jeugdwet par. 7.3): from 16 a young person
exercises the right of access alone. A legal representative (often the parent the young person is
protected from) gets the copy of a 16- or 17-year-old - with their current address, e.g. a shelter -
only with the young person's recorded consent; otherwise the request is refused (rule
``d13-representative-16-plus``, audited) and nothing is recorded."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from tests.helpers import new_case
from vault.context import Context
from vault.errors import InvalidInput
from vault.models import AccessRequest, AuditEntry
from vault.runtime import Vault
from vault.services import rights
from vault.services.subjects import PersonFields, Relation, add_subject

BY_REPRESENTATIVE = rights.RequestedBy.REPRESENTATIVE


def _young_person(vault: Vault, worker: Context, case_id: str, age: int) -> str:
    today = worker.now().date()
    return add_subject(
        vault,
        worker,
        case_id,
        relation=Relation.CHILD,
        fields=PersonFields(
            name="Sam", date_of_birth=date(today.year - age - 1, 12, 31), address="Blijf-van-mijn-lijfhuis"
        ),
    )


def test_d13_a_parent_does_not_get_a_17_year_olds_copy_without_them(
    vault: Vault, team: str, worker: Context
) -> None:
    case_id = new_case(vault, worker, team)
    teen = _young_person(vault, worker, case_id, 17)
    with pytest.raises(InvalidInput) as refused:
        rights.record_access_request(
            vault,
            worker,
            case_id,
            subject_id=teen,
            received_on=worker.now().date(),
            requested_by=BY_REPRESENTATIVE,
        )
    assert refused.value.rule == rights.REPRESENTATIVE_16_PLUS_RULE
    with vault.db.session() as session:
        denial = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).one()
        assert session.scalars(select(AccessRequest)).first() is None  # nothing recorded
    assert (denial.tag, denial.rule) == ("dossier:access:denied", rights.REPRESENTATIVE_16_PLUS_RULE)
    own = rights.record_access_request(
        vault, worker, case_id, subject_id=teen, received_on=worker.now().date()
    )
    assert own.requested_by == rights.RequestedBy.SUBJECT  # the young person asks alone


def test_d13_with_the_young_persons_consent_the_representative_asks_and_it_is_audited(
    vault: Vault, team: str, worker: Context
) -> None:
    case_id = new_case(vault, worker, team)
    teen = _young_person(vault, worker, case_id, 16)
    view = rights.record_access_request(
        vault,
        worker,
        case_id,
        subject_id=teen,
        received_on=worker.now().date(),
        requested_by=BY_REPRESENTATIVE,
        minor_consent=True,
    )
    assert view.requested_by == BY_REPRESENTATIVE
    with vault.db.session() as session:
        entry = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.tag == "rights:access:requested")
            .order_by(AuditEntry.seq.desc())
        ).first()
    assert entry is not None
    assert '"minor_consent":true' in (entry.details or "")


def test_d13_a_representative_asks_for_a_15_year_old_without_consent(
    vault: Vault, team: str, worker: Context
) -> None:
    case_id = new_case(vault, worker, team)
    child = _young_person(vault, worker, case_id, 15)
    view = rights.record_access_request(
        vault,
        worker,
        case_id,
        subject_id=child,
        received_on=worker.now().date(),
        requested_by=BY_REPRESENTATIVE,
    )
    assert view.requested_by == BY_REPRESENTATIVE
