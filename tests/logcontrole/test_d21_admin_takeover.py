"""D21 detector 11 (``admin_takeover``): an administrator sets an account's credentials and the account
then reads case content. Driven through the real web app and API as the reviewer's reproduction
(``/beheer`` pages, then sign-in, TOTP enrolment, password change and a document read), then the
real log review; the only test double is the clock."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from html import unescape
from urllib.parse import parse_qs, urlparse

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.web.test_admin_routes import make_admin
from tests.web.world import (
    GRANTED_TEXT,
    PARTNER_ORG,
    PASSWORD,
    TEAM,
    World,
    build_world,
    csrf_of,
    web_login,
)
from vault.app import create_app
from vault.audit import record
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, Role
from vault.logcontrole.engine import run_review
from vault.logcontrole.store import FindingRow, evidence_of, list_findings
from vault.models import AuditEntry
from vault.runtime import Vault
from vault.web.routes.logcontrole import DETECTORS, REASONS

_PW = re.compile(r'<code id="initial-password"[^>]*>([^<]+)</code>')
NEW = "mijn-eigen-nieuwe-wachtwoord-2026"
ELSEWHERE = ("10.20.30.40", 50000)  # a colleague's own computer, not the administrator's


@pytest.fixture
def web_world(vault: Vault) -> World:
    return build_world(vault)


def _use_account(client: TestClient, clock: FrozenClock, username: str, password: str, doc: str) -> str:
    """Sign in with the one-time password, enrol a TOTP, choose a password, read a document; the
    TOTP secret."""
    r = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    h = {"Authorization": f"Bearer {r.json()['token']}"}
    r = client.post("/api/v1/auth/totp/enrol", headers=h)
    assert r.status_code == 200, r.text
    secret = str(parse_qs(urlparse(r.json()["otpauth_uri"]).query)["secret"][0])
    r = client.post("/api/v1/auth/totp/verify", headers=h, json={"code": pyotp.TOTP(secret).at(clock.now())})
    assert r.status_code == 200, r.text
    h = {"Authorization": f"Bearer {r.json()['token']}"}
    r = client.post(
        "/api/v1/auth/password", headers=h, json={"current_password": password, "new_password": NEW}
    )
    assert r.status_code == 200, r.text
    h = {"Authorization": f"Bearer {r.json()['token']}"}  # the token rotates with the password
    _read(client, h, doc)
    return secret


def _read(client: TestClient, h: dict[str, str], doc: str) -> None:
    r = client.get(f"/api/v1/documents/{doc}/content", headers=h)
    assert r.status_code == 200, r.status_code
    assert r.content == GRANTED_TEXT


def _reset_both(web: TestClient, user_id: str, *, factor: bool = True) -> str:
    base = f"/beheer/gebruikers/{user_id}"
    page = web.get(f"{base}/wachtwoord")
    r = web.post(f"{base}/wachtwoord", data={"csrf_token": csrf_of(page.text)})
    assert r.status_code == 200, r.status_code
    password = unescape(_PW.search(r.text).group(1))  # type: ignore[union-attr]
    if factor:
        page = web.get(f"{base}/tweede-factor")
        r = web.post(f"{base}/tweede-factor", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
        assert r.status_code == 303, r.status_code
    return password


def _create(web: TestClient, username: str, role: str = "medewerker") -> str:
    page = web.get("/beheer/gebruikers/nieuw")
    where = {"team": TEAM} if role == "medewerker" else {"org": PARTNER_ORG}
    r = web.post(
        "/beheer/gebruikers/nieuw",
        data={"csrf_token": csrf_of(page.text), "username": username, "role": role, **where},
    )
    assert r.status_code == 200, r.status_code
    return unescape(_PW.search(r.text).group(1))  # type: ignore[union-attr]


def _review(vault: Vault, clock: FrozenClock, day: datetime) -> list[FindingRow]:
    start = day.replace(hour=0, minute=0, second=0, microsecond=0)
    ctx = Context.system(access_point="test", clock=FrozenClock(clock.now() + timedelta(days=2)))
    run_review(vault, ctx, start, start + timedelta(days=1))
    with vault.db.session() as session:
        return [f for f in list_findings(session, limit=1000) if f.detector == "admin_takeover"]


def _tags_of(vault: Vault, finding_id: int) -> list[tuple[str, str | None]]:
    with vault.db.session() as session:
        seqs = evidence_of(session, finding_id)
        rows = session.execute(select(AuditEntry.tag, AuditEntry.actor_id).where(AuditEntry.seq.in_(seqs)))
        return [(tag, actor) for tag, actor in rows]


def test_d21_admin_resets_password_and_second_factor_then_reads_as_worker_is_flagged_high(
    vault: Vault, clock: FrozenClock, web_world: World
) -> None:
    admin = make_admin(vault)
    with TestClient(create_app(vault)) as web:
        web_login(web, admin, clock)
        password = _reset_both(web, web_world.worker.user_id)
    with TestClient(create_app(vault)) as api:  # the same computer as the administrator's
        _use_account(api, clock, web_world.worker.username, password, web_world.granted_doc)

    found = _review(vault, clock, clock.now())
    assert len(found) == 1
    f = found[0]
    assert f.actor_id == admin.user_id  # the administrator is the finding's person
    assert f.case_id is None
    assert set(f.reason.split("+")) == {"password_reset", "factor_reset", "same_client"}
    assert f.score == 5.0
    evidence = _tags_of(vault, f.id)
    assert ("admin:user:password-reset", admin.user_id) in evidence
    assert ("auth:totp:reset", admin.user_id) in evidence
    assert ("auth:login:ok", web_world.worker.user_id) in evidence
    assert ("auth:totp:enrolled", web_world.worker.user_id) in evidence
    assert ("dossier:document:read", web_world.worker.user_id) in evidence
    assert all(code in REASONS for code in f.reason.split("+"))
    # The privacy officer's pages: the kind and the reasons in Dutch, the administrator by name.
    with TestClient(create_app(vault)) as fg:
        web_login(fg, web_world.officer, clock)
        listed = fg.get("/fg/logcontrole")
        assert listed.status_code == 200, listed.status_code
        assert f"Bevinding {f.id}: {DETECTORS['admin_takeover']}" in unescape(listed.text)
        shown = fg.get(f"/fg/logcontrole/{f.id}")
        assert shown.status_code == 200, shown.status_code
        text = unescape(shown.text)
    assert admin.username in text
    assert f"door {web_world.worker.username}" in text  # the account taken over, named in the evidence
    for code in ("password_reset", "factor_reset", "same_client"):
        assert REASONS[code] in text


def test_d21_admin_creates_account_and_uses_it_from_own_computer_is_flagged(
    vault: Vault, clock: FrozenClock, web_world: World
) -> None:
    admin = make_admin(vault)
    with TestClient(create_app(vault)) as web:
        web_login(web, admin, clock)
        password = _create(web, "schaduw")
    with TestClient(create_app(vault)) as api:
        _use_account(api, clock, "schaduw", password, web_world.granted_doc)

    found = _review(vault, clock, clock.now())
    assert [(f.actor_id, f.reason, f.score) for f in found] == [
        (admin.user_id, "new_account+same_client", 2.5)
    ]


def test_d21_admin_creates_partner_account_and_reads_the_disclosed_document_is_flagged(
    vault: Vault, clock: FrozenClock, web_world: World
) -> None:
    admin = make_admin(vault)
    with TestClient(create_app(vault)) as web:
        web_login(web, admin, clock)
        password = _create(web, "schaduwpartner", role="partner")
    with TestClient(create_app(vault)) as api:
        _use_account(api, clock, "schaduwpartner", password, web_world.granted_doc)

    found = _review(vault, clock, clock.now())
    assert [(f.actor_id, f.reason, f.score) for f in found] == [
        (admin.user_id, "new_account+same_client", 2.5)
    ]


def test_d21_ordinary_new_colleague_first_week_is_one_low_scored_finding(
    vault: Vault, clock: FrozenClock, web_world: World
) -> None:
    admin = make_admin(vault)
    with TestClient(create_app(vault)) as web:
        web_login(web, admin, clock)
        password = _create(web, "nieuwecollega")
    with TestClient(create_app(vault), client=ELSEWHERE) as own:
        secret = _use_account(own, clock, "nieuwecollega", password, web_world.granted_doc)
    first_day = clock.now()
    assert [(f.reason, f.score) for f in _review(vault, clock, first_day)] == [("new_account", 0.5)]

    # The next days of the first week: the same finding, updated, not one a day.
    clock.advance(days=2)
    with TestClient(create_app(vault), client=ELSEWHERE) as own:
        r = own.post("/api/v1/auth/login", json={"username": "nieuwecollega", "password": NEW})
        assert r.status_code == 200, r.text
        h = {"Authorization": f"Bearer {r.json()['token']}"}
        code = pyotp.TOTP(secret).at(clock.now())
        r = own.post("/api/v1/auth/totp/verify", headers=h, json={"code": code})
        assert r.status_code == 200, r.text
        _read(own, {"Authorization": f"Bearer {r.json()['token']}"}, web_world.granted_doc)
    found = _review(vault, clock, clock.now())
    assert [(f.reason, f.score, f.day) for f in found] == [("new_account", 0.5, first_day.date().isoformat())]
    reads = [t for t in _tags_of(vault, found[0].id) if t[0] == "dossier:document:read"]
    assert len(reads) == 2  # the first day's read and the third day's, on the one finding
    # ... below every other detector's lowest score (1.0).
    assert found[0].score < 1.0


def test_d21_helpdesk_password_reset_from_another_computer_scores_low(
    vault: Vault, clock: FrozenClock, web_world: World
) -> None:
    admin = make_admin(vault)
    with TestClient(create_app(vault)) as web:
        web_login(web, admin, clock)
        password = _reset_both(web, web_world.worker.user_id, factor=False)
    with TestClient(create_app(vault), client=ELSEWHERE) as own:
        r = own.post("/api/v1/auth/login", json={"username": web_world.worker.username, "password": password})
        assert r.status_code == 200, r.text
        h = {"Authorization": f"Bearer {r.json()['token']}"}
        r = own.post("/api/v1/auth/totp/verify", headers=h, json={"code": web_world.worker.code(clock)})
        assert r.status_code == 200, r.text
        h = {"Authorization": f"Bearer {r.json()['token']}"}
        r = own.post(
            "/api/v1/auth/password", headers=h, json={"current_password": password, "new_password": NEW}
        )
        assert r.status_code == 200, r.text
        h = {"Authorization": f"Bearer {r.json()['token']}"}
        _read(own, h, web_world.granted_doc)
    assert [(f.reason, f.score) for f in _review(vault, clock, clock.now())] == [("password_reset", 1.0)]


def test_d21_reads_after_the_window_and_system_set_up_are_not_flagged(
    vault: Vault, clock: FrozenClock, web_world: World
) -> None:
    """The world's accounts were made by the vault's set-up (``system``): not an administrator's act.
    Reads more than ``admin_takeover_days`` after the reset are not flagged either."""
    set_up_day = clock.now()
    admin = make_admin(vault)
    with TestClient(create_app(vault)) as web:
        web_login(web, admin, clock)
        password = _reset_both(web, web_world.worker.user_id, factor=False)
    with TestClient(create_app(vault)) as api:
        r = api.post("/api/v1/auth/login", json={"username": web_world.worker.username, "password": password})
        assert r.status_code == 200, r.text
        h = {"Authorization": f"Bearer {r.json()['token']}"}
        r = api.post("/api/v1/auth/totp/verify", headers=h, json={"code": web_world.worker.code(clock)})
        h = {"Authorization": f"Bearer {r.json()['token']}"}
        r = api.post(
            "/api/v1/auth/password", headers=h, json={"current_password": password, "new_password": NEW}
        )
        assert r.status_code == 200, r.text
        clock.advance(days=8)
        r = api.post("/api/v1/auth/login", json={"username": web_world.worker.username, "password": NEW})
        assert r.status_code == 200, r.text
        h = {"Authorization": f"Bearer {r.json()['token']}"}
        r = api.post("/api/v1/auth/totp/verify", headers=h, json={"code": web_world.worker.code(clock)})
        h = {"Authorization": f"Bearer {r.json()['token']}"}
        _read(api, h, web_world.granted_doc)
    assert _review(vault, clock, clock.now()) == []
    assert _review(vault, clock, set_up_day) == []


def test_d21_takeover_read_at_an_hour_the_worker_never_reads_scores_higher(
    vault: Vault, clock: FrozenClock, web_world: World
) -> None:
    """The worker reads at 10:00 (Amsterdam) on working days; the takeover reads at 22:00."""
    worker = web_world.worker.user_id
    for back in (5, 4, 3):
        at = clock.now() - timedelta(days=back)  # 09:00 UTC, 10:00 in Amsterdam
        ctx = Context(worker, str(Role.MEDEWERKER), "test", session_id="s", clock=FrozenClock(at))
        with vault.db.session() as session:
            record(session, ctx, AuditTag.DOSSIER_DOCUMENT_READ, object_type="document")
    clock.advance(hours=12)  # 21:00 UTC, 22:00 in Amsterdam
    admin = make_admin(vault)
    with TestClient(create_app(vault)) as web:
        web_login(web, admin, clock)
        password = _reset_both(web, worker)
    with TestClient(create_app(vault)) as api:
        _use_account(api, clock, web_world.worker.username, password, web_world.granted_doc)
    found = _review(vault, clock, clock.now())
    assert [(f.reason, f.score) for f in found] == [
        ("password_reset+factor_reset+same_client+unusual_hours", 6.0)
    ]


def test_d21_client_address_shared_by_many_accounts_is_no_evidence(
    vault: Vault, clock: FrozenClock, web_world: World
) -> None:
    """Behind a proxy or NAT every sign-in comes from one address: then it says nothing."""
    with TestClient(create_app(vault)) as office:
        for person in (web_world.outsider, web_world.partner, web_world.officer):
            r = office.post("/api/v1/auth/login", json={"username": person.username, "password": PASSWORD})
            assert r.status_code == 200, r.text
    admin = make_admin(vault)
    with TestClient(create_app(vault)) as web:
        web_login(web, admin, clock)
        password = _reset_both(web, web_world.worker.user_id)
    with TestClient(create_app(vault)) as api:
        _use_account(api, clock, web_world.worker.username, password, web_world.granted_doc)
    found = _review(vault, clock, clock.now())
    assert [(f.reason, f.score) for f in found] == [("password_reset+factor_reset", 3.0)]
