"""D11, D12: a legal hold is lifted from the retention page, with a reason code from the fixed list.

The team leader of the case's team (the role that places a hold) sees the hold's date and a small form
with the reasons in Dutch; lifting it answers POST-redirect-GET with a Dutch confirmation, records the
reason and audits ``rights:legal-hold:lifted``. A missing or unknown reason gets the form back with
the Dutch message at the field (400); a second submit finds no hold left (409, in Dutch) and changes
nothing; a medewerker sees no button and a post of theirs is refused (403) before the form is read."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.helpers import ctx_for
from tests.web.world import TEAM, Person, World, _person, build_world, csrf_of, web_login
from vault.app import create_app
from vault.context import FrozenClock
from vault.domain import AuditTag, Role
from vault.models import AuditEntry, Case, RetentionExtension
from vault.runtime import Vault
from vault.services.retention import ExtensionReason, extend_retention

HOLD_HEADING = "Juridische blokkade"
BUTTON = "Blokkade opheffen"


def _held(vault: Vault, reason: ExtensionReason = ExtensionReason.LEGAL_PROCEEDINGS) -> tuple[World, Person]:
    """A case its team leader keeps two years past its 20 years (a hold, unless ``reason`` says not)."""
    world = build_world(vault)
    leader = _person(vault, "teamleider", Role.TEAMLEIDER, team=TEAM)
    with vault.db.session() as session:
        kept = session.scalar(select(Case.destroy_after).where(Case.id == world.case_id))
    assert kept is not None
    extend_retention(
        vault,
        ctx_for(vault, leader.user_id, Role.TEAMLEIDER),
        world.case_id,
        until=kept + timedelta(days=730),
        reason=reason,
    )
    return world, leader


def _denials(vault: Vault, case_id: str) -> int:
    with vault.db.session() as session:
        return len(
            list(
                session.scalars(
                    select(AuditEntry.seq).where(
                        AuditEntry.tag == str(AuditTag.DOSSIER_ACCESS_DENIED), AuditEntry.case_id == case_id
                    )
                )
            )
        )


def _state(vault: Vault, case_id: str) -> tuple[datetime | None, list[tuple[object, ...]], list[str]]:
    """The destruction date, each extension's lift (when, code) and the details of each lift entry."""
    with vault.db.session() as session:
        kept = session.scalar(select(Case.destroy_after).where(Case.id == case_id))
        lifts = [
            (at, code)
            for at, code in session.execute(
                select(RetentionExtension.lifted_at, RetentionExtension.lift_code).where(
                    RetentionExtension.case_id == case_id
                )
            )
        ]
        audited = list(
            session.scalars(
                select(AuditEntry.details).where(
                    AuditEntry.tag == str(AuditTag.RIGHTS_LEGAL_HOLD_LIFTED),
                    AuditEntry.case_id == case_id,
                    AuditEntry.decision == "allow",
                )
            )
        )
    return kept, lifts, audited


def test_d12_the_team_leader_lifts_the_hold_with_a_reason_and_sees_it_confirmed(
    vault: Vault, clock: FrozenClock
) -> None:
    world, leader = _held(vault)
    path = f"/zaken/{world.case_id}/bewaartermijn"
    held_until, _, _ = _state(vault, world.case_id)
    with TestClient(create_app(vault)) as client:
        web_login(client, leader, clock)
        before = client.get(path)
        r = client.post(
            path + "/opheffen",
            data={"lift_reason": "proceedings_ended", "csrf_token": csrf_of(before.text)},
            follow_redirects=False,
        )
        after = client.get(r.headers["location"])
    assert before.status_code == 200
    assert HOLD_HEADING in before.text
    assert BUTTON in before.text
    assert 'action="' + path + '/opheffen"' in before.text
    for label in (
        "De procedure is afgerond",
        "De wettelijke plicht om te bewaren is vervallen",
        "De blokkade is ten onrechte geplaatst",
    ):
        assert label in before.text  # the reason codes in Dutch, never the code alone
    assert r.status_code == 303, r.text[:300]
    assert r.headers["location"] == f"{path}?melding=blokkade-opgeheven"
    assert "De juridische blokkade is opgeheven" in after.text
    # the earlier extensions say that the hold was lifted, when and why (never a code)
    assert "de blokkade is opgeheven op" in after.text
    assert "(de procedure is afgerond)" in after.text
    assert "proceedings_ended" not in after.text
    assert BUTTON not in after.text
    assert HOLD_HEADING not in after.text
    kept, lifts, audited = _state(vault, world.case_id)
    assert kept is not None
    assert held_until is not None
    assert kept < held_until
    assert [code for _, code in lifts] == ["proceedings_ended"]
    assert [json.loads(d).get("reason") for d in audited] == ["proceedings_ended"]


def test_d12_a_missing_or_unknown_reason_keeps_the_hold_and_says_so_in_dutch(
    vault: Vault, clock: FrozenClock
) -> None:
    world, leader = _held(vault)
    path = f"/zaken/{world.case_id}/bewaartermijn"
    before = _state(vault, world.case_id)
    with TestClient(create_app(vault)) as client:
        web_login(client, leader, clock)
        token = csrf_of(client.get(path).text)
        answers = [
            client.post(path + "/opheffen", data={**form, "csrf_token": token})
            for form in (
                {},
                {"lift_reason": ""},
                {"lift_reason": "no-such-reason"},
                {"lift_reason": "x" * 500},
            )
        ]
    for r in answers:
        assert r.status_code == 400, r.text[:300]
        assert "Kies waarom de blokkade wordt opgeheven." in r.text
        assert 'id="lift_reason" name="lift_reason" aria-invalid="true"' in r.text
        assert BUTTON in r.text  # the form is still there: the hold still runs
    assert _state(vault, world.case_id) == before  # nothing lifted, nothing audited as lifted


def test_d12_a_second_submit_finds_the_hold_lifted_and_changes_nothing(
    vault: Vault, clock: FrozenClock
) -> None:
    world, leader = _held(vault)
    path = f"/zaken/{world.case_id}/bewaartermijn"
    with TestClient(create_app(vault)) as client:
        web_login(client, leader, clock)
        token = csrf_of(client.get(path).text)
        form = {"lift_reason": "placed_in_error", "csrf_token": token}
        first = client.post(path + "/opheffen", data=form, follow_redirects=False)
        lifted = _state(vault, world.case_id)
        clock.advance(minutes=1)
        second = client.post(path + "/opheffen", data=form, follow_redirects=False)
    assert first.status_code == 303
    assert second.status_code == 409, second.text[:300]
    assert "Deze zaak heeft geen lopende juridische blokkade meer" in second.text
    assert "Er is niets gewijzigd." in second.text
    assert 'href="#blokkade"' in second.text
    assert 'id="blokkade"' in second.text
    assert BUTTON not in second.text
    assert _state(vault, world.case_id) == lifted  # the first lift's time and code stay
    assert len(lifted[2]) == 1


def test_d12_a_medewerker_sees_the_hold_but_no_button_and_may_not_lift_it(
    vault: Vault, clock: FrozenClock
) -> None:
    world, _ = _held(vault)
    path = f"/zaken/{world.case_id}/bewaartermijn"
    before = _state(vault, world.case_id)
    denials = _denials(vault, world.case_id)
    with TestClient(create_app(vault)) as client:
        web_login(client, world.worker, clock)
        page = client.get(path)
        token = csrf_of(page.text)
        answers = [
            client.post(path + "/opheffen", data={**form, "csrf_token": token})
            for form in ({"lift_reason": "proceedings_ended"}, {"lift_reason": "no-such-reason"})
        ]
    assert page.status_code == 200
    assert HOLD_HEADING in page.text  # the date the case is held until is shown to staff
    assert BUTTON not in page.text
    assert "/opheffen" not in page.text
    for r in answers:
        assert r.status_code == 403, r.text[:300]
        assert "Geen toegang" in r.text
        assert "Kies waarom" not in r.text  # the permission comes before the form
    assert _state(vault, world.case_id) == before
    after = _denials(vault, world.case_id)
    assert after == denials + len(answers)  # each refusal audited by the gate (ids and rule)


def test_d12_an_extension_in_the_persons_interest_is_no_hold_and_shows_no_button(
    vault: Vault, clock: FrozenClock
) -> None:
    world, leader = _held(vault, ExtensionReason.SUBJECT_INTEREST)
    with TestClient(create_app(vault)) as client:
        web_login(client, leader, clock)
        page = client.get(f"/zaken/{world.case_id}/bewaartermijn")
    assert page.status_code == 200
    assert HOLD_HEADING not in page.text
    assert BUTTON not in page.text
