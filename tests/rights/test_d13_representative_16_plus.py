"""D13 (Wmo 2015 art. 5.3.2; WGBO art. 7:465 lid 1, Jeugdwet par. 7.3): from 16 a young person
exercises the right of access alone. A legal representative (often the parent the young person is
protected from) gets the copy of a 16- or 17-year-old only with the young person's recorded consent;
otherwise the request is refused (rule ``d13-representative-16-plus``, audited) and nothing is
recorded. A representative's copy never carries the current address (e.g. a shelter)."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import select

from tests.helpers import new_case, pdf_text
from vault.context import Context
from vault.errors import InvalidInput
from vault.models import AccessRequest, AuditEntry
from vault.runtime import Vault
from vault.services import rights
from vault.services.inzage import ADDRESS_NOT_FOR_REPRESENTATIVE, export_for_subject, render_inzage_pdf
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


def test_d13_a_representatives_copy_leaves_out_where_the_child_lives_and_says_why(
    vault: Vault, team: str, worker: Context
) -> None:
    """The parent with authority who asks for a child's copy can be the parent the child and the other
    parent fled from: the copy for a representative never carries the address (session 18), with its
    reason; the child's own copy (here: the 15-year-old asking alone) does."""
    case_id = new_case(vault, worker, team)
    child = _young_person(vault, worker, case_id, 15)
    today = worker.now().date()
    by_parent = rights.record_access_request(
        vault, worker, case_id, subject_id=child, received_on=today, requested_by=BY_REPRESENTATIVE
    )
    copy = export_for_subject(vault, worker, case_id, child, access_request_id=by_parent.id)
    assert copy.subject["address"] is None
    assert copy.subject["address_withheld"] is True
    assert "Blijf-van-mijn-lijfhuis" not in json.dumps(copy.as_dict())
    pdf = pdf_text(render_inzage_pdf(copy))
    assert "Blijf-van-mijn-lijfhuis" not in pdf
    assert "niet in deze kopie" in pdf
    assert [w.reason for w in copy.withheld if w.what == "adres"] == [ADDRESS_NOT_FOR_REPRESENTATIVE]

    own = rights.record_access_request(vault, worker, case_id, subject_id=child, received_on=today)
    copy = export_for_subject(vault, worker, case_id, child, access_request_id=own.id)
    assert copy.subject["address"] == "Blijf-van-mijn-lijfhuis"
    assert not [w for w in copy.withheld if w.what == "adres"]
