"""D21, D17 (review P2, P4): the administrator-takeover detection (detector 11) cannot be silenced by
the same administrator through the privacy officer's role, nor laundered through a colleague's
administrator account.

docs/security.md: an administrator taking over an account is "Not prevented … Detected: the daily log
review's detector 11 flags …". The only person who sees and judges that finding is a privacy officer —
and an administrator alone can make one (create a privacy_officer account and keep its one-time
password) or take over the real one (reset password and second factor). Neither is flagged (an FG reads
no case content, so detector 11 never fired), and the admin-controlled FG then closed the finding about
the administrator as "verklaard". Now: a verdict by an officer whose account, password, second factor or
role the finding's person set is refused (``officer-set-by-finding-person``, escalate only, audited);
an overseer's account used after an administrator set its credentials is flagged (``overseer_account``,
at least the "both factors" score); and a takeover done through another administrator's taken-over
account names the upstream administrator too (``chained``)."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from urllib.parse import parse_qs, urlparse

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.logcontrole.test_d21_admin_takeover import NEW, _reset_both, _review, _use_account
from tests.web.test_admin_routes import make_admin
from tests.web.world import PASSWORD, Person, World, build_world, csrf_of, web_login
from vault.app import create_app
from vault.auth import AuthConfig
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, Role
from vault.errors import Forbidden
from vault.logcontrole import service
from vault.logcontrole.engine import run_review
from vault.logcontrole.store import FindingRow, list_findings
from vault.models import AuditEntry
from vault.runtime import Vault
from vault.services import accounts
from vault.transaction import transaction
from vault.web.routes.logcontrole import REASONS

_PW = re.compile(r'<code id="initial-password"[^>]*>([^<]+)</code>')


@pytest.fixture
def web_world(vault: Vault) -> World:
    return build_world(vault)


def _create_officer(web: TestClient, username: str) -> str:
    page = web.get("/beheer/gebruikers/nieuw")
    r = web.post(
        "/beheer/gebruikers/nieuw",
        data={"csrf_token": csrf_of(page.text), "username": username, "role": "privacy_officer"},
    )
    assert r.status_code == 200, r.status_code
    return unescape(_PW.search(r.text).group(1))  # type: ignore[union-attr]


def _sign_in_new(api: TestClient, clock: FrozenClock, username: str, password: str) -> dict[str, str]:
    """One-time password, own TOTP, own password: a verified, freshly stepped-up API session."""
    r = api.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    h = {"Authorization": f"Bearer {r.json()['token']}"}
    r = api.post("/api/v1/auth/totp/enrol", headers=h)
    assert r.status_code == 200, r.text
    secret = str(parse_qs(urlparse(r.json()["otpauth_uri"]).query)["secret"][0])
    r = api.post("/api/v1/auth/totp/verify", headers=h, json={"code": pyotp.TOTP(secret).at(clock.now())})
    assert r.status_code == 200, r.text
    h = {"Authorization": f"Bearer {r.json()['token']}"}
    r = api.post("/api/v1/auth/password", headers=h, json={"current_password": password, "new_password": NEW})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}  # the token rotates with the password


def test_d21_an_fg_account_made_by_the_administrator_cannot_close_the_takeover_finding_about_them(
    vault: Vault, clock: FrozenClock, web_world: World
) -> None:
    admin = make_admin(vault)
    with TestClient(create_app(vault)) as web:
        web_login(web, admin, clock)
        password = _reset_both(web, web_world.worker.user_id)
        fg_password = _create_officer(web, "schaduwfg")
    with TestClient(create_app(vault)) as api:
        _use_account(api, clock, web_world.worker.username, password, web_world.granted_doc)
    found = _review(vault, clock, clock.now())
    assert len(found) == 1
    assert found[0].actor_id == admin.user_id
    assert found[0].score >= 3.0

    with TestClient(create_app(vault)) as api:
        h = _sign_in_new(api, clock, "schaduwfg", fg_password)
        r = api.post(
            f"/api/v1/audit/findings/{found[0].id}/status",
            headers=h,
            json={"status": "verklaard", "comment": "helpdesk-reset, besproken"},
        )
    with vault.db.session() as session:
        status = next(f.status for f in list_findings(session, limit=1000) if f.id == found[0].id)
    closed = f"the administrator's own FG account closed the takeover finding about them: {r.status_code}"
    assert r.status_code == 403, closed
    assert status == "nieuw", f"{closed}, {status}"


def test_d21_an_administrator_taking_over_the_privacy_officers_account_is_flagged(
    vault: Vault, clock: FrozenClock, web_world: World
) -> None:
    """Password and second factor of the (only) FG reset by an administrator, who signs in as the FG from
    their own computer and opens the findings: the review must flag it, as it does for a case worker."""
    admin = make_admin(vault)
    with TestClient(create_app(vault)) as web:
        web_login(web, admin, clock)
        password = _reset_both(web, web_world.officer.user_id)
    with TestClient(create_app(vault)) as api:
        h = _sign_in_new(api, clock, web_world.officer.username, password)
        r = api.get("/api/v1/audit/findings", headers=h)
        assert r.status_code == 200, r.text
    start = clock.now().replace(hour=0, minute=0, second=0, microsecond=0)
    run_review(
        vault,
        Context.system(access_point="test", clock=FrozenClock(clock.now() + timedelta(days=2))),
        start,
        start + timedelta(days=1),
    )
    with vault.db.session() as session:
        about_admin = [f for f in list_findings(session, limit=1000) if f.actor_id == admin.user_id]
    assert about_admin, "an administrator took over the privacy officer's account and nothing was flagged"
    # at least as high as "both factors" for a case worker; the reason says whose account it was
    assert about_admin[0].score >= 3.0
    assert "overseer_account" in about_admin[0].reason.split("+")


def test_d21_an_administrator_who_takes_over_another_administrator_is_the_one_flagged(
    vault: Vault, clock: FrozenClock, web_world: World
) -> None:
    """Administrator A resets colleague-administrator B's password and second factor, signs in as B and,
    as B, takes over a case worker and reads. The review must name A; it names only B (who did nothing),
    as A's reset of an administrator's credentials is no episode (B reads no content)."""
    a = make_admin(vault, "beheerder-a")
    b = make_admin(vault, "beheerder-b")
    with TestClient(create_app(vault)) as web:
        web_login(web, a, clock)
        b_password = _reset_both(web, b.user_id)
    with TestClient(create_app(vault)) as api:
        r = api.post("/api/v1/auth/login", json={"username": b.username, "password": b_password})
        assert r.status_code == 200, r.text
        h = {"Authorization": f"Bearer {r.json()['token']}"}
        r = api.post("/api/v1/auth/totp/enrol", headers=h)
        assert r.status_code == 200, r.text
        secret = str(parse_qs(urlparse(r.json()["otpauth_uri"]).query)["secret"][0])
        r = api.post("/api/v1/auth/totp/verify", headers=h, json={"code": pyotp.TOTP(secret).at(clock.now())})
        assert r.status_code == 200, r.text
        h = {"Authorization": f"Bearer {r.json()['token']}"}
        r = api.post(
            "/api/v1/auth/password",
            headers=h,
            json={"current_password": b_password, "new_password": PASSWORD},
        )
        assert r.status_code == 200, r.text
    clock.advance(seconds=30)
    as_b = Person(b.username, b.user_id, secret, Role.ADMIN)
    with TestClient(create_app(vault)) as web:
        web_login(web, as_b, clock)
        password = _reset_both(web, web_world.worker.user_id)
    with TestClient(create_app(vault)) as api:
        _use_account(api, clock, web_world.worker.username, password, web_world.granted_doc)
    found = _review(vault, clock, clock.now())
    named = {f.actor_id for f in found}
    assert a.user_id in named, (
        f"the takeover is laid at administrator B's door only (findings name {sorted(named)} = B), "
        "not at A who took over B's account"
    )
    about_a = next(f for f in found if f.actor_id == a.user_id)
    assert about_a.score >= 3.0


# --- the parts the review did not cover ------------------------------------------------------------


def _ctx(vault: Vault, person: Person) -> Context:
    return Context(
        actor_id=person.user_id,
        role=str(person.role),
        access_point="test",
        session_id=f"s-{person.username}",
        second_factor_verified=True,
        factor_checked_at=vault.clock.now(),
        clock=vault.clock,
    )


def _officer_made_by(vault: Vault, admin: Person, username: str) -> Person:
    """A privacy officer account the administrator created (a given password, a TOTP installed)."""
    auth = AuthConfig.from_vault(vault)
    secret = pyotp.random_base32()
    with transaction(vault.db) as session:
        created = accounts.create_user(
            session, _ctx(vault, admin), auth, username=username, role="privacy_officer", password=PASSWORD
        )
        accounts.install_totp_secret(
            session, Context.system(access_point="test", clock=vault.clock), auth, created.user_id, secret
        )
    return Person(username, created.user_id, secret, Role.PRIVACY_OFFICER)


def _takeover_finding(vault: Vault, clock: FrozenClock, world: World, admin: Person) -> FindingRow:
    with TestClient(create_app(vault)) as web:
        web_login(web, admin, clock)
        password = _reset_both(web, world.worker.user_id)
    with TestClient(create_app(vault)) as api:
        _use_account(api, clock, world.worker.username, password, world.granted_doc)
    found = _review(vault, clock, clock.now())
    assert len(found) == 1
    assert found[0].actor_id == admin.user_id
    return found[0]


def _status(vault: Vault, finding_id: int) -> str:
    with vault.db.session() as session:
        return next(f.status for f in list_findings(session, limit=1000) if f.id == finding_id)


def test_d21_officer_set_by_finding_person_is_refused_audited_and_may_escalate(
    vault: Vault, clock: FrozenClock, web_world: World
) -> None:
    admin = make_admin(vault)
    shadow = _officer_made_by(vault, admin, "schaduwfg")
    finding = _takeover_finding(vault, clock, web_world, admin)
    with pytest.raises(Forbidden) as refused, transaction(vault.db) as session:
        service.set_finding_status(session, vault, _ctx(vault, shadow), finding.id, "verklaard", "besproken")
    assert refused.value.rule == service.OFFICER_SET_BY_PERSON
    assert _status(vault, finding.id) == "nieuw"
    with vault.db.session() as session:
        denied = session.scalars(
            select(AuditEntry.rule).where(
                AuditEntry.tag == AuditTag.AUDIT_FINDING_STATUS_CHANGED.value,
                AuditEntry.actor_id == shadow.user_id,
                AuditEntry.decision == "deny",
            )
        ).all()
    assert denied == [service.OFFICER_SET_BY_PERSON]
    # escalating stays open to that officer; the organisation's own officer judges as before
    with transaction(vault.db) as session:
        service.set_finding_status(session, vault, _ctx(vault, shadow), finding.id, "geescaleerd", None)
    assert _status(vault, finding.id) == "geescaleerd"
    with transaction(vault.db) as session:
        service.set_finding_status(
            session, vault, _ctx(vault, web_world.officer), finding.id, "verklaard", "helpdesk, nagebeld"
        )
    assert _status(vault, finding.id) == "verklaard"


def test_d21_officer_whose_role_the_person_changed_is_refused_on_the_page_in_dutch(
    vault: Vault, clock: FrozenClock, web_world: World
) -> None:
    """An existing account made privacy officer by the administrator: the verdict page refuses (403)
    and says why in Dutch; the finding stays open."""
    admin = make_admin(vault)
    auth = AuthConfig.from_vault(vault)
    secret = pyotp.random_base32()
    system = Context.system(access_point="test", clock=vault.clock)
    with transaction(vault.db) as session:
        made = accounts.create_user(session, system, auth, username="helper", role="admin", password=PASSWORD)
        accounts.install_totp_secret(session, system, auth, made.user_id, secret)
        accounts.change_role(session, _ctx(vault, admin), username="helper", role="privacy_officer")
    helper = Person("helper", made.user_id, secret, Role.PRIVACY_OFFICER)
    finding = _takeover_finding(vault, clock, web_world, admin)
    with TestClient(create_app(vault)) as web:
        web_login(web, helper, clock)
        page = web.get(f"/fg/logcontrole/{finding.id}")
        r = web.post(
            f"/fg/logcontrole/{finding.id}",
            data={"csrf_token": csrf_of(page.text), "status": "verklaard", "comment": "besproken"},
            follow_redirects=False,
        )
    assert r.status_code == 403, r.status_code
    assert "alleen escaleren" in r.text
    assert "rol ingesteld" in r.text
    assert _status(vault, finding.id) == "nieuw"


def test_d21_new_reason_codes_have_dutch_labels() -> None:
    assert {"overseer_account", "chained"} <= set(REASONS)
