"""Login, TOTP enrolment/verification, replay, rate limits and recovery codes through the API (D17)."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.auth.conftest import Account, bearer, enrol_and_verify, login, totp_now
from vault.context import FrozenClock
from vault.domain import AuditTag
from vault.models import AuditEntry, RecoveryCode
from vault.runtime import Vault


def _tags(vault: Vault) -> list[str]:
    with vault.db.session() as session:
        return list(session.scalars(select(AuditEntry.tag).order_by(AuditEntry.seq)))


def test_d17_login_gives_an_unverified_session_that_must_enrol(client: TestClient, anna: Account) -> None:
    body = login(client, anna)
    assert body["second_factor_verified"] is False
    assert body["enrolment_required"] is True


def test_d17_factor_becomes_active_only_after_a_first_correct_code(
    client: TestClient, anna: Account, clock: FrozenClock
) -> None:
    login(client, anna)
    r = client.post("/api/v1/auth/totp/enrol", headers=bearer(anna.token))
    assert r.status_code == 200
    assert r.json()["qr_svg"].lstrip().startswith("<svg")
    # Log in again before verifying: enrolment is still required (the factor is pending).
    assert login(client, anna)["enrolment_required"] is True


def test_verify_rotates_the_token_and_returns_ten_recovery_codes_once(
    client: TestClient, anna: Account, clock: FrozenClock
) -> None:
    login(client, anna)
    first_token = anna.token
    enrol_and_verify(client, anna, clock)
    assert anna.token != first_token
    assert len(anna.recovery_codes) == 10
    assert len(set(anna.recovery_codes)) == 10
    # The pre-verification token no longer works.
    assert client.get("/api/v1/auth/sessions", headers=bearer(first_token)).status_code == 401
    assert client.get("/api/v1/auth/sessions", headers=bearer(anna.token)).status_code == 200
    assert login(client, anna)["enrolment_required"] is False


def test_d17_a_code_just_accepted_is_refused_on_reuse_and_the_replay_is_audited(
    client: TestClient, verified_anna: Account, clock: FrozenClock, vault: Vault
) -> None:
    assert verified_anna.secret
    login(client, verified_anna)
    code = totp_now(verified_anna.secret, clock)
    ok = client.post("/api/v1/auth/totp/verify", headers=bearer(verified_anna.token), json={"code": code})
    assert ok.status_code == 200
    login(client, verified_anna)
    replay = client.post("/api/v1/auth/totp/verify", headers=bearer(verified_anna.token), json={"code": code})
    assert replay.status_code == 401
    assert replay.json()["error"] == "auth_failed"
    assert AuditTag.AUTH_TOTP_REPLAYED in _tags(vault)
    # An earlier step's code (still inside the ±1 window) is a replay too.
    clock.advance(seconds=30)
    earlier = client.post(
        "/api/v1/auth/totp/verify", headers=bearer(verified_anna.token), json={"code": code}
    )
    assert earlier.status_code == 401


def test_d17_sixth_wrong_code_in_five_minutes_is_429_and_so_is_a_correct_code_then_window_passes(
    client: TestClient, verified_anna: Account, clock: FrozenClock, vault: Vault
) -> None:
    assert verified_anna.secret
    login(client, verified_anna)
    h = bearer(verified_anna.token)
    good = totp_now(verified_anna.secret, clock)
    wrong = "000000" if good != "000000" else "111111"
    for _ in range(5):
        r = client.post("/api/v1/auth/totp/verify", headers=h, json={"code": wrong})
        assert r.status_code == 401
        clock.advance(seconds=10)
    sixth = client.post("/api/v1/auth/totp/verify", headers=h, json={"code": wrong})
    assert sixth.status_code == 429
    assert int(sixth.headers["Retry-After"]) >= 1
    correct = client.post(
        "/api/v1/auth/totp/verify", headers=h, json={"code": totp_now(verified_anna.secret, clock)}
    )
    assert correct.status_code == 429
    assert AuditTag.AUTH_LOCKOUT in _tags(vault)
    clock.advance(seconds=int(correct.headers["Retry-After"]))
    clock.advance(minutes=1)  # keep the session alive within the idle timeout: still < 15 min in total
    after = client.post(
        "/api/v1/auth/totp/verify", headers=h, json={"code": totp_now(verified_anna.secret, clock)}
    )
    assert after.status_code == 200, after.text


def test_rate_limit_is_per_client_address_too(
    client: TestClient, vault: Vault, clock: FrozenClock, system_ctx: object
) -> None:
    # Ten failed logins on ten different unknown accounts from one address: the 11th is 429.
    for i in range(10):
        r = client.post("/api/v1/auth/login", json={"username": f"nobody{i}", "password": "x" * 12})
        assert r.status_code == 401
    r = client.post("/api/v1/auth/login", json={"username": "nobody99", "password": "x" * 12})
    assert r.status_code == 429


def test_password_rate_limit_refuses_even_the_right_password(client: TestClient, anna: Account) -> None:
    for _ in range(5):
        r = client.post("/api/v1/auth/login", json={"username": anna.username, "password": "wrong password!"})
        assert r.status_code == 401
    r = client.post("/api/v1/auth/login", json={"username": anna.username, "password": anna.password})
    assert r.status_code == 429
    assert "Retry-After" in r.headers


def test_d17_a_recovery_code_works_exactly_once(
    client: TestClient, verified_anna: Account, vault: Vault
) -> None:
    code = verified_anna.recovery_codes[0]
    login(client, verified_anna)
    first = client.post(
        "/api/v1/auth/recovery/verify", headers=bearer(verified_anna.token), json={"code": code}
    )
    assert first.status_code == 200
    assert first.json()["second_factor_verified"] is True
    login(client, verified_anna)
    again = client.post(
        "/api/v1/auth/recovery/verify", headers=bearer(verified_anna.token), json={"code": code}
    )
    assert again.status_code == 401
    with vault.db.session() as session:
        rows = session.scalars(
            select(RecoveryCode).where(RecoveryCode.user_id == verified_anna.user_id)
        ).all()
    assert len(rows) == 10  # burned, not deleted
    assert sum(1 for r in rows if r.used_at is not None) == 1
    assert AuditTag.AUTH_RECOVERY_USED in _tags(vault)


def test_regenerating_recovery_codes_needs_step_up_and_revokes_the_old_set(
    client: TestClient, verified_anna: Account, clock: FrozenClock
) -> None:
    assert verified_anna.secret
    clock.advance(minutes=5)  # the verification at login is no longer fresh
    h = bearer(verified_anna.token)
    refused = client.post("/api/v1/auth/recovery/regenerate", headers=h)
    assert refused.status_code == 401
    assert refused.json()["error"] == "step_up_required"
    assert "WWW-Authenticate" in refused.headers
    up = client.post("/api/v1/auth/step-up", headers=h, json={"code": totp_now(verified_anna.secret, clock)})
    assert up.status_code == 200
    h = bearer(up.json()["token"])
    fresh = client.post("/api/v1/auth/recovery/regenerate", headers=h)
    assert fresh.status_code == 200
    new_codes = fresh.json()["recovery_codes"]
    assert len(new_codes) == 10
    assert not set(new_codes) & set(verified_anna.recovery_codes)
    login(client, verified_anna)
    old = client.post(
        "/api/v1/auth/recovery/verify",
        headers=bearer(verified_anna.token),
        json={"code": verified_anna.recovery_codes[1]},
    )
    assert old.status_code == 401
    new = client.post(
        "/api/v1/auth/recovery/verify", headers=bearer(verified_anna.token), json={"code": new_codes[0]}
    )
    assert new.status_code == 200


def test_no_account_enumeration_unknown_user_and_wrong_password_answer_alike(
    client: TestClient, anna: Account, vault: Vault
) -> None:
    unknown = client.post("/api/v1/auth/login", json={"username": "nobody", "password": "some password"})
    wrong = client.post("/api/v1/auth/login", json={"username": anna.username, "password": "some password"})
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json() == wrong.json()
    with vault.db.session() as session:
        details = list(
            session.scalars(select(AuditEntry.details).where(AuditEntry.tag == AuditTag.AUTH_LOGIN_FAILED))
        )
    assert len(details) == 2
    assert all("nobody" not in d and "some password" not in d for d in details)
    assert any(json.loads(d).get("account") for d in details)  # a keyed hash, never the typed name
