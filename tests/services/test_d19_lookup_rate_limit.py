"""D19: the person lookup is limited per actor (20 per 10 minutes, 100 per day), so a series of tries
cannot enumerate a date of birth or a BSN. Counted in the database (holds across workers and restarts),
refused before anything is looked up, the refusal audited as a denied lookup (ids only)."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from tests.helpers import ctx_for, make_team, make_user
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, Role
from vault.errors import RateLimited, VaultError
from vault.models import AuditEntry
from vault.runtime import Vault
from vault.services import lookup
from vault.services.cases import open_report
from vault.services.subjects import PersonFields, Relation, ReporterFields

NAME, BORN = "Sanne Bakker", date(2015, 9, 17)


def _worker(vault: Vault, team: str) -> Context:
    return ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team]), Role.MEDEWERKER)


def _report_about_child(vault: Vault) -> str:
    team_b = make_team(vault, "Team Oost")
    worker_b = _worker(vault, team_b)
    with vault.db.session() as session:
        return open_report(
            session,
            vault,
            worker_b,
            team_id=team_b,
            reporter=ReporterFields(name="Buurvrouw", professional=False),
            subjects=[(Relation.CHILD, PersonFields(name=NAME, date_of_birth=BORN))],
        ).id


def _rate_refusals(vault: Vault, actor_id: str) -> list[AuditEntry]:
    with vault.db.session() as session:
        return list(
            session.scalars(
                select(AuditEntry).where(
                    AuditEntry.tag == str(AuditTag.DOSSIER_ACCESS_DENIED),
                    AuditEntry.actor_id == actor_id,
                    AuditEntry.rule == lookup.LOOKUP_RATE_RULE,
                )
            )
        )


def _lookups(vault: Vault, actor_id: str) -> int:
    with vault.db.session() as session:
        return len(
            session.scalars(
                select(AuditEntry.seq).where(
                    AuditEntry.tag == str(AuditTag.DOSSIER_PERSON_LOOKUP),
                    AuditEntry.actor_id == actor_id,
                    AuditEntry.case_id.is_(None),
                )
            ).all()
        )


def test_d19_lookup_cannot_be_used_to_enumerate_a_date_of_birth(vault: Vault) -> None:
    """The reviewer's reproduction: trying every day of 2015 is stopped long before the match."""
    theirs = _report_about_child(vault)
    curious = _worker(vault, make_team(vault, "Team West"))
    tries, found_on, refused = 0, None, None
    day = date(2015, 1, 1)
    while day.year == 2015:
        tries += 1
        try:
            hits = lookup.lookup_person(vault, curious, name=NAME, date_of_birth=day)
        except VaultError as error:
            refused = error
            break
        if any(h.case_id == theirs for h in hits):
            found_on = day
            break
        day += timedelta(days=1)
    assert isinstance(refused, RateLimited), f"{tries} lookups answered; found the date of birth {found_on}"
    assert tries == 21


def test_d19_lookup_limit_per_ten_minutes_refuses_the_21st_and_audits_it(
    vault: Vault, clock: FrozenClock
) -> None:
    theirs = _report_about_child(vault)
    team_a = make_team(vault, "Team West")
    curious, other = _worker(vault, team_a), _worker(vault, team_a)

    for n in range(20):
        lookup.lookup_person(vault, curious, name=NAME, date_of_birth=date(2015, 1, 1) + timedelta(days=n))
    with pytest.raises(RateLimited) as refused:
        lookup.lookup_person(vault, curious, name=NAME, date_of_birth=BORN)
    assert 0 < refused.value.retry_after <= 600
    # Refused before anything was looked up: no lookup entry for the 21st, none on the matching case.
    assert _lookups(vault, str(curious.actor_id)) == 20
    with vault.db.session() as session:
        on_case = session.scalars(
            select(AuditEntry.seq).where(
                AuditEntry.case_id == theirs, AuditEntry.actor_id == str(curious.actor_id)
            )
        ).all()
    assert on_case == []
    (entry,) = _rate_refusals(vault, str(curious.actor_id))
    assert entry.decision == "deny"
    assert entry.case_id is None
    assert NAME not in entry.details
    assert "2015" not in entry.details
    assert json.loads(entry.details)["attempted"] == str(AuditTag.DOSSIER_PERSON_LOOKUP)

    # Another actor is not affected.
    assert [h.case_id for h in lookup.lookup_person(vault, other, name=NAME, date_of_birth=BORN)] == [theirs]

    # Once the window has moved on, the actor may look up again.
    clock.advance(minutes=10, seconds=1)
    assert [h.case_id for h in lookup.lookup_person(vault, curious, name=NAME, date_of_birth=BORN)] == [
        theirs
    ]


def test_d19_lookup_limit_per_day_holds_across_ten_minute_windows(vault: Vault, clock: FrozenClock) -> None:
    curious = _worker(vault, make_team(vault, "Team West"))
    first = clock.now()
    born = date(2015, 1, 1)
    for _batch in range(5):
        for _ in range(20):
            lookup.lookup_person(vault, curious, name=NAME, date_of_birth=born)
            born += timedelta(days=1)
        clock.advance(minutes=11)
    with pytest.raises(RateLimited) as refused:
        lookup.lookup_person(vault, curious, name=NAME, date_of_birth=born)
    assert refused.value.retry_after > 600  # the day's limit, not the ten minutes'
    assert len(_rate_refusals(vault, str(curious.actor_id))) == 1
    clock.set(first + timedelta(days=1, seconds=1))
    assert lookup.lookup_person(vault, curious, name=NAME, date_of_birth=born) == []
