"""D23: no two cases share a reference (VT-XXXX-XXXX, the case id's first 8 characters).

A reference is what a citizen, partner or family quotes on the phone. With 32 bits, two cases collide by
chance once a vault holds tens of thousands of them; staff would then be offered two families' cases
for one caller. A new case's id is drawn again while its reference is taken, destroyed cases included.
The test hands ``fresh_case_id`` its draws (the randomness, as a clock double hands the time), the first
one sharing the reference of a case that exists.
"""

from __future__ import annotations

import uuid

import pytest

from tests.helpers import ctx_for, make_team, make_user, new_case
from vault.domain import Role, reference_of
from vault.errors import Conflict
from vault.runtime import Vault
from vault.services.cases import fresh_case_id


def test_d23_a_new_case_never_gets_the_reference_of_an_existing_one(vault: Vault) -> None:
    team = make_team(vault)
    worker = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team]), Role.MEDEWERKER)
    existing = new_case(vault, worker, team)
    same_reference = uuid.UUID(existing[:8] + "-0000-4000-8000-000000000000")
    other = uuid.uuid4()
    draws = iter([same_reference, other])
    with vault.db.session() as session:
        fresh = fresh_case_id(session, draw=lambda: next(draws))
    assert fresh == str(other)
    assert reference_of(fresh) != reference_of(existing)


def test_d23_when_every_draw_is_taken_the_case_is_refused_not_given_a_shared_reference(vault: Vault) -> None:
    team = make_team(vault)
    worker = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team]), Role.MEDEWERKER)
    existing = new_case(vault, worker, team)
    taken = uuid.UUID(existing[:8] + "-1111-4111-8111-111111111111")
    with vault.db.session() as session, pytest.raises(Conflict):
        fresh_case_id(session, draw=lambda: taken)
