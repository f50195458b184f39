"""D3 pseudonyms (stable under spelling, distinct per person, their own key) and the D8 canary scan."""

from __future__ import annotations

from datetime import date

import pytest

from tests.cases.conftest import Staff
from tests.helpers import ctx_for, database_bytes, make_user
from vault.crypto.index import blind_index_bsn
from vault.crypto.keys import SubkeyPurpose
from vault.domain import Role
from vault.runtime import Vault
from vault.services import cases, lookup
from vault.services.case_view import view_case
from vault.services.subjects import PersonFields, Relation, ReporterFields

CANARY = "Zwaluwstaart Kanariepiet"
CANARY_CONTACT = "kanarie@voorbeeld.invalid"


@pytest.mark.parametrize(
    ("one", "other"),
    [
        (PersonFields(bsn="111222333"), PersonFields(bsn="1112.22.333")),
        (PersonFields(bsn="111222333"), PersonFields(bsn=" 111 222 333 ")),
        (
            PersonFields(name="Zoë El Amrani", date_of_birth=date(2012, 1, 9)),
            PersonFields(name="  ZOE  el-amrani ", date_of_birth=date(2012, 1, 9)),
        ),
        (
            PersonFields(name="Anouk van 't Hof", date_of_birth=date(2012, 1, 9)),
            PersonFields(name="ANOUK VAN T HOF", date_of_birth=date(2012, 1, 9)),
        ),
    ],
)
def test_d3_same_person_different_spelling_same_pseudonym(
    vault: Vault, one: PersonFields, other: PersonFields
) -> None:
    assert cases.client_pseudonym(vault, one) == cases.client_pseudonym(vault, other)


def test_d3_different_persons_differ_and_the_pseudonym_key_is_not_the_index_key(vault: Vault) -> None:
    a = cases.client_pseudonym(vault, PersonFields(bsn="111222333"))
    b = cases.client_pseudonym(vault, PersonFields(bsn="123456782"))
    c = cases.client_pseudonym(vault, PersonFields(name="Jan Jansen", date_of_birth=date(2012, 1, 9)))
    d = cases.client_pseudonym(vault, PersonFields(name="Jan Jansen", date_of_birth=date(2012, 1, 10)))
    assert len({a, b, c, d}) == 4
    assert (
        vault.keys.subkey(SubkeyPurpose.PSEUDONYM).reveal()
        != vault.keys.subkey(SubkeyPurpose.BLIND_INDEX).reveal()
    )
    index = blind_index_bsn(vault.keys.subkey(SubkeyPurpose.BLIND_INDEX), "111222333")
    assert a.removeprefix("ps_") not in index
    assert a.startswith("ps_")


def test_d8_canary_reporter_never_in_view_lookup_or_raw_database(vault: Vault, staff: Staff) -> None:
    ctx = staff.ctx(vault, staff.worker)
    with vault.db.session() as session:
        case_id = cases.open_report(
            session,
            vault,
            ctx,
            team_id=staff.team,
            reporter=ReporterFields(name=CANARY, professional=False, contact=CANARY_CONTACT),
            subjects=[
                (
                    Relation.CHILD,
                    PersonFields(name="Pietje Puk", bsn="123456782", date_of_birth=date(2016, 5, 1)),
                )
            ],
        ).id
    other = make_user(vault, Role.MEDEWERKER, teams=[staff.team])
    view = view_case(vault, ctx_for(vault, other, Role.MEDEWERKER), case_id)
    assert view.reporter is None
    assert CANARY not in repr(view)
    assert CANARY not in str(vars(view))
    hits = lookup.lookup_person(vault, ctx, bsn="123456782")
    assert [h.case_id for h in hits] == [case_id]
    assert CANARY not in repr(hits)
    raw = database_bytes(vault)
    assert len(raw) > 1000
    for canary in (CANARY, CANARY_CONTACT, "Pietje Puk", "123456782", "2016-05-01"):
        assert canary.encode() not in raw
        assert canary.encode("utf-16-le") not in raw
