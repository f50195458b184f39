"""D13 review: who may ask for inzage through a legal representative, and "today" is the Dutch date.

An adult is their own person: an access request "by a legal representative" of an adult mother (her
ex-partner claiming to act for her) would hand over a copy with her name, BSN and new address. A legal
representative (parent with authority, guardian) asks only for a minor, by the recorded date of birth
on the day the request came in; without a recorded date of birth nobody can tell, so it is refused.

The day a request came in, its deadline and whether it is overdue are Dutch calendar days: at 00:30
Dutch summer time the UTC date is still yesterday's.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.helpers import ctx_for, new_case
from vault.context import Context, FrozenClock
from vault.domain import Role
from vault.errors import Conflict, InvalidInput
from vault.models import AccessRequest, AuditEntry
from vault.runtime import Vault
from vault.services import rights
from vault.services.subjects import PersonFields, Relation, add_subject

BY_REPRESENTATIVE = rights.RequestedBy.REPRESENTATIVE


def _refused_and_audited(vault: Vault, ask: Callable[[], object], rule: str, case_id: str) -> None:
    """The request is refused with ``rule``, nothing is recorded, and the refusal is audited."""
    with pytest.raises(InvalidInput) as refused:
        ask()
    assert refused.value.rule == rule
    with vault.db.session() as session:
        denial = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).one()
        assert session.scalars(select(AccessRequest)).first() is None  # nothing recorded
    assert (denial.tag, denial.rule, denial.case_id) == ("dossier:access:denied", rule, case_id)


def _ask(
    vault: Vault, worker: Context, case_id: str, subject_id: str, received_on: date, *, consent: bool = False
) -> Callable[[], object]:
    return functools.partial(
        rights.record_access_request,
        vault,
        worker,
        case_id,
        subject_id=subject_id,
        received_on=received_on,
        requested_by=BY_REPRESENTATIVE,
        minor_consent=consent,
    )


def test_d13_a_representative_request_for_an_adult_is_refused_and_audited(
    vault: Vault, team: str, worker: Context
) -> None:
    """An adult victim (41) asks for her own copy: "a representative" asking for it is refused."""
    case_id = new_case(vault, worker, team)
    mother = add_subject(
        vault,
        worker,
        case_id,
        relation=Relation.PARENT,
        fields=PersonFields(
            name="Moeder Kanarie",
            date_of_birth=date(1985, 1, 1),
            address="Blijf-van-mijn-lijfhuis 1, 1234 AB Stad",
        ),
    )
    ask = _ask(vault, worker, case_id, mother, worker.now().date())
    _refused_and_audited(vault, ask, rights.REPRESENTATIVE_MINOR_ONLY_RULE, case_id)
    own = rights.record_access_request(
        vault, worker, case_id, subject_id=mother, received_on=worker.now().date()
    )
    assert own.requested_by == rights.RequestedBy.SUBJECT  # she asks herself


@pytest.mark.parametrize(
    ("days_to_18th_birthday", "allowed"),
    [(1, True), (0, False), (-400, False)],  # 18 tomorrow: a minor; 18 today: an adult
)
def test_d13_a_representative_asks_for_a_minor_until_the_18th_birthday(
    vault: Vault, team: str, worker: Context, days_to_18th_birthday: int, allowed: bool
) -> None:
    case_id = new_case(vault, worker, team)
    received = worker.now().date()
    birthday = received + timedelta(days=days_to_18th_birthday)
    born = birthday.replace(year=birthday.year - 18)
    son = add_subject(
        vault, worker, case_id, relation=Relation.CHILD, fields=PersonFields(name="Zoon", date_of_birth=born)
    )
    # D13: at 17 only with the young person's consent (see test_d13_representative_16_plus.py)
    ask = _ask(vault, worker, case_id, son, received, consent=True)
    if not allowed:
        _refused_and_audited(vault, ask, rights.REPRESENTATIVE_MINOR_ONLY_RULE, case_id)
        return
    assert ask() is not None


@pytest.mark.parametrize("relation", [Relation.PARENT, Relation.CHILD])
def test_d13_a_representative_request_without_a_recorded_date_of_birth_is_refused(
    vault: Vault, team: str, worker: Context, relation: Relation
) -> None:
    """Fail closed: a "child" in the household may be 20; without a date of birth nobody can tell."""
    case_id = new_case(vault, worker, team)
    subject = add_subject(vault, worker, case_id, relation=relation, fields=PersonFields(name="Kim"))
    ask = _ask(vault, worker, case_id, subject, worker.now().date())
    _refused_and_audited(vault, ask, rights.REPRESENTATIVE_AGE_UNKNOWN_RULE, case_id)


def test_d13_a_request_received_today_in_the_netherlands_is_not_in_the_future(
    vault: Vault, clock: FrozenClock, team: str, worker: Context
) -> None:
    case_id = new_case(vault, worker, team)
    mother = add_subject(vault, worker, case_id, relation=Relation.PARENT, fields=PersonFields(name="Moeder"))
    # 10 July 2026, 00:30 in Amsterdam (CEST) = 9 July 22:30 UTC: a letter opened at the night desk
    clock.set(datetime(2026, 7, 9, 22, 30, tzinfo=UTC))
    view = rights.record_access_request(
        vault, worker, case_id, subject_id=mother, received_on=date(2026, 7, 10)
    )
    assert view.answer_by == date(2026, 8, 7)
    with pytest.raises(InvalidInput):  # the day after is still in the future
        rights.record_access_request(vault, worker, case_id, subject_id=mother, received_on=date(2026, 7, 11))


def test_d13_a_request_is_overdue_and_past_extension_from_the_dutch_day_after_its_deadline(
    vault: Vault, clock: FrozenClock, team: str, worker: Context
) -> None:
    """At 00:30 Dutch time on the day after the deadline the term has passed: the work list says so,
    and an extension (told within the term, AVG art. 12(3)) is no longer given."""
    case_id = new_case(vault, worker, team)
    mother = add_subject(vault, worker, case_id, relation=Relation.PARENT, fields=PersonFields(name="Moeder"))
    clock.set(datetime(2026, 6, 1, 9, 0, tzinfo=UTC))
    view = rights.record_access_request(
        vault, worker, case_id, subject_id=mother, received_on=date(2026, 6, 1)
    )
    assert view.answer_by == date(2026, 6, 29)
    clock.set(datetime(2026, 6, 29, 22, 30, tzinfo=UTC))  # 30 June, 00:30 in Amsterdam
    late = ctx_for(vault, worker.actor_id or "", Role.MEDEWERKER)
    assert [v.overdue for v in rights.due_access_requests(vault, late)] == [True]
    with pytest.raises(Conflict) as refused:
        rights.extend_access_request(
            vault, late, view.id, reason=rights.ExtensionReason.COMPLEX_REQUEST, weeks=4
        )
    assert refused.value.rule == rights.EXTENSION_AFTER_TERM
