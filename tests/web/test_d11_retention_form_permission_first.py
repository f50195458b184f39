"""D11: the retention-extension form decides who may use it before it reads what was typed. A
medewerker (staff, but not the team leader who decides) gets the Dutch refusal page (403) whatever the
form holds — never a 400 that tells how the form was filled in — and nothing is written; a professional
who asked advice gets the same refusal page as on the GET. The team leader with a bad date gets the
form back with the Dutch message at the field (400), what was typed kept."""

from __future__ import annotations

from datetime import datetime

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.services.test_d4_own_motion_reason_staff_only import advice_of_a_professional
from tests.web.world import TEAM, World, _person, build_world, csrf_of, web_login
from vault.app import create_app
from vault.context import FrozenClock
from vault.domain import AuditTag, Role
from vault.labels import AMSTERDAM
from vault.models import AuditEntry, Case, RetentionExtension
from vault.runtime import Vault

BAD_FORMS = (
    {"until": "not a day", "reason": "legal_proceedings"},
    {"until": "01-01-2090", "reason": "no-such-reason"},
    {"until": "", "reason": ""},
)


def _state(vault: Vault, case_id: str) -> tuple[datetime | None, int, int]:
    with vault.db.session() as session:
        kept = session.scalar(select(Case.destroy_after).where(Case.id == case_id))
        extensions = session.scalar(select(func.count()).select_from(RetentionExtension)) or 0
        denials = (
            session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.tag == str(AuditTag.DOSSIER_ACCESS_DENIED), AuditEntry.case_id == case_id)
            )
            or 0
        )
    return kept, extensions, denials


def test_d11_a_medewerker_posting_any_retention_form_gets_the_dutch_403_first(
    vault: Vault, clock: FrozenClock
) -> None:
    world: World = build_world(vault)
    path = f"/zaken/{world.case_id}/bewaartermijn"
    kept, extensions, denials = _state(vault, world.case_id)
    with TestClient(create_app(vault)) as client:
        web_login(client, world.worker, clock)
        token = csrf_of(client.get(path).text)
        answers = [client.post(path, data={**form, "csrf_token": token}) for form in BAD_FORMS]
        answers.append(
            client.post(
                path, data={"until": "01-01-2050", "reason": "legal_proceedings", "csrf_token": token}
            )
        )
    for r in answers:
        assert r.status_code == 403, (r.status_code, r.text[:300])
        assert "Geen toegang" in r.text
        assert "Vul een datum in" not in r.text
        assert "Kies de reden" not in r.text
    after = _state(vault, world.case_id)
    assert after[:2] == (kept, extensions)  # nothing written
    assert after[2] == denials + len(answers)  # each refusal audited (ids and rule only)


def test_d11_a_professional_posting_the_retention_form_gets_the_get_refusal(
    vault: Vault, world: World, clock: FrozenClock
) -> None:
    case_id, prof = advice_of_a_professional(vault)
    path = f"/zaken/{case_id}/bewaartermijn"
    kept, extensions, _ = _state(vault, case_id)
    with TestClient(create_app(vault)) as client:
        web_login(client, prof, clock)
        token = csrf_of(client.get(f"/zaken/{case_id}").text)
        on_get = client.get(path)
        on_post = client.post(path, data={"until": "x", "reason": "y", "csrf_token": token})
    assert on_get.status_code == on_post.status_code == 403, on_post.text[:300]
    assert "Geen toegang" in on_post.text
    assert "Vul een datum in" not in on_post.text
    assert _state(vault, case_id)[:2] == (kept, extensions)


def test_d11_the_team_leader_with_a_bad_date_gets_the_form_back_with_the_message(
    vault: Vault, clock: FrozenClock
) -> None:
    world: World = build_world(vault)
    path = f"/zaken/{world.case_id}/bewaartermijn"
    kept, extensions, _ = _state(vault, world.case_id)
    with TestClient(create_app(vault)) as client:
        web_login(client, _person(vault, "teamleider", Role.TEAMLEIDER, team=TEAM), clock)
        token = csrf_of(client.get(path).text)
        r = client.post(
            path, data={"until": "31-02-2090", "reason": "legal_proceedings", "csrf_token": token}
        )
        done = client.post(
            path, data={"until": "01-01-2050", "reason": "legal_proceedings", "csrf_token": token}
        )
    assert r.status_code == 400, r.text[:300]
    assert "Vul een datum in als dd-mm-jjjj" in r.text
    assert 'value="31-02-2090"' in r.text  # nothing lost
    assert 'id="reason-legal_proceedings" name="reason" value="legal_proceedings" checked' in r.text
    assert done.status_code == 200, done.text[:300]  # followed to the case page
    assert _state(vault, world.case_id)[1] == extensions + 1
    assert _state(vault, world.case_id)[0] != kept


def test_d12_a_legal_hold_dated_today_is_refused_at_the_date_in_dutch(
    vault: Vault, clock: FrozenClock
) -> None:
    """D12: a legal hold may end earlier than the destruction date, but lasts at least until tomorrow;
    the form says so at the date, keeps what was typed and writes nothing."""
    world: World = build_world(vault)
    path = f"/zaken/{world.case_id}/bewaartermijn"
    kept, extensions, _ = _state(vault, world.case_id)
    today = clock.now().astimezone(AMSTERDAM).strftime("%d-%m-%Y")
    with TestClient(create_app(vault)) as client:
        web_login(client, _person(vault, "teamleider", Role.TEAMLEIDER, team=TEAM), clock)
        token = csrf_of(client.get(path).text)
        r = client.post(path, data={"until": today, "reason": "legal_proceedings", "csrf_token": token})
    assert r.status_code == 400, r.text[:300]
    assert "Een blokkade loopt ten minste tot morgen" in r.text
    assert f'value="{today}"' in r.text
    assert _state(vault, world.case_id)[:2] == (kept, extensions)
