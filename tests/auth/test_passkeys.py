"""Passkeys (WebAuthn) beside TOTP: registration, sign-in, step-up, removal, the role policy and the
administrator's view, through the API and the services (docs/security.md "Second factors").

The authenticator is a small software one (real P-256 keys, real CBOR, real signatures): it answers
the vault's own options the way a browser and a security key do, and can be told to answer for
another origin or relying party, or with a sign count that goes backwards (a clone).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
from dataclasses import dataclass, field
from typing import Any

import cbor2
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from tests.auth.conftest import (
    Account,
    bearer,
    enrol_and_verify,
    login,
    new_account,
    passkey_role_settings,
    totp_now,
)
from vault.auth import AuthConfig
from vault.config import Settings
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, Role
from vault.errors import AuthFailed
from vault.models import AuditEntry
from vault.models.identity import PasskeyChallenge, PasskeyCredential, User
from vault.runtime import Vault
from vault.services.authentication import passkeys
from vault.services.authentication.passkeys import PasskeyConfig
from vault.transaction import transaction

ORIGIN = "http://localhost:8000"
RP_ID = "localhost"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class SoftKey:
    """A software authenticator with one credential per registration."""

    backup_eligible: bool = False
    keys: dict[str, tuple[ec.EllipticCurvePrivateKey, int]] = field(default_factory=dict)

    def _flags(self, *, attested: bool) -> int:
        flags = 0x01 | 0x04  # UP, UV
        if self.backup_eligible:
            flags |= 0x08 | 0x10  # BE, BS
        if attested:
            flags |= 0x40
        return flags

    def create(
        self, options: dict[str, Any], *, origin: str = ORIGIN, rp_id: str | None = None
    ) -> dict[str, Any]:
        key = ec.generate_private_key(ec.SECP256R1())
        numbers = key.public_key().public_numbers()
        cose = cbor2.dumps(
            {1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")}
        )
        cred_id = os.urandom(32)
        rp = rp_id or options["rp"]["id"]
        auth_data = (
            hashlib.sha256(rp.encode()).digest()
            + bytes([self._flags(attested=True)])
            + struct.pack(">I", 0)
            + bytes(16)
            + struct.pack(">H", len(cred_id))
            + cred_id
            + cose
        )
        client_data = json.dumps(
            {
                "type": "webauthn.create",
                "challenge": options["challenge"],
                "origin": origin,
                "crossOrigin": False,
            }
        ).encode()
        self.keys[b64(cred_id)] = (key, 0)
        return {
            "id": b64(cred_id),
            "rawId": b64(cred_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64(client_data),
                "attestationObject": b64(cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})),
                "transports": ["usb"],
            },
            "clientExtensionResults": {},
        }

    def get(
        self,
        options: dict[str, Any],
        *,
        origin: str = ORIGIN,
        rp_id: str | None = None,
        count: int | None = None,
        cred: str | None = None,
    ) -> dict[str, Any]:
        cred_id = cred or next(iter(self.keys))
        key, last = self.keys[cred_id]
        counter = last + 1 if count is None else count
        self.keys[cred_id] = (key, counter)
        auth_data = (
            hashlib.sha256((rp_id or options["rpId"]).encode()).digest()
            + bytes([self._flags(attested=False)])
            + struct.pack(">I", counter)
        )
        client_data = json.dumps(
            {
                "type": "webauthn.get",
                "challenge": options["challenge"],
                "origin": origin,
                "crossOrigin": False,
            }
        ).encode()
        signature = key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        return {
            "id": cred_id,
            "rawId": cred_id,
            "type": "public-key",
            "response": {
                "clientDataJSON": b64(client_data),
                "authenticatorData": b64(auth_data),
                "signature": b64(signature),
            },
            "clientExtensionResults": {},
        }


def _tags(vault: Vault) -> list[str]:
    with vault.db.session() as session:
        return list(session.scalars(select(AuditEntry.tag).order_by(AuditEntry.seq)))


def _details(vault: Vault, tag: AuditTag) -> list[dict[str, Any]]:
    with vault.db.session() as session:
        rows = session.scalars(
            select(AuditEntry.details).where(AuditEntry.tag == str(tag)).order_by(AuditEntry.seq)
        )
        return [json.loads(r) for r in rows]


def register(client: TestClient, account: Account, key: SoftKey, name: str = "Sleutel") -> dict[str, Any]:
    r = client.post("/api/v1/auth/passkeys/register/options", headers=bearer(account.token))
    assert r.status_code == 200, r.text
    options = r.json()["options"]
    assert options["attestation"] == "none"
    assert options["rp"]["id"] == RP_ID
    r = client.post(
        "/api/v1/auth/passkeys/register",
        headers=bearer(account.token),
        json={"credential": key.create(options), "name": name},
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def passkey_login(client: TestClient, account: Account, key: SoftKey, **kw: Any) -> Any:
    login(client, account)
    r = client.post("/api/v1/auth/passkeys/login/options", headers=bearer(account.token))
    assert r.status_code == 200, r.text
    options = r.json()["options"]
    return client.post(
        "/api/v1/auth/passkeys/login",
        headers=bearer(account.token),
        json={"credential": key.get(options, **kw)},
    )


@pytest.fixture
def key() -> SoftKey:
    return SoftKey()


def test_register_list_and_sign_in_with_a_passkey(
    client: TestClient, verified_anna: Account, key: SoftKey, vault: Vault
) -> None:
    created = register(client, verified_anna, key, "YubiKey blauw")
    assert created["name"] == "YubiKey blauw"
    assert created["transports"] == ["usb"]
    listed = client.get("/api/v1/auth/passkeys", headers=bearer(verified_anna.token)).json()
    assert [p["name"] for p in listed] == ["YubiKey blauw"]
    r = passkey_login(client, verified_anna, key)
    assert r.status_code == 200, r.text
    assert r.json()["second_factor_verified"] is True
    token = r.json()["token"]
    assert client.get("/api/v1/auth/sessions", headers=bearer(token)).status_code == 200
    tags = _tags(vault)
    for tag in (
        AuditTag.AUTH_PASSKEY_REGISTRATION_STARTED,
        AuditTag.AUTH_PASSKEY_REGISTERED,
        AuditTag.AUTH_PASSKEY_ASSERTION_STARTED,
        AuditTag.AUTH_PASSKEY_OK,
    ):
        assert tag in tags
    with vault.db.session() as session:
        stored = session.scalars(select(PasskeyCredential)).one()
        assert stored.sign_count == 1
        assert stored.last_used_at is not None


def test_backup_flags_are_stored(client: TestClient, verified_anna: Account, vault: Vault) -> None:
    synced = SoftKey(backup_eligible=True)
    created = register(client, verified_anna, synced)
    assert created["backup_eligible"] is True
    assert created["backed_up"] is True
    assert passkey_login(client, verified_anna, synced).status_code == 200


def test_d17_a_passkey_login_leaves_content_closed_before_the_assertion(
    client: TestClient, verified_anna: Account, key: SoftKey
) -> None:
    register(client, verified_anna, key)
    login(client, verified_anna)
    assert client.get("/api/v1/auth/sessions", headers=bearer(verified_anna.token)).status_code == 401


def test_a_response_for_another_origin_is_refused_and_audited(
    client: TestClient, verified_anna: Account, key: SoftKey, vault: Vault
) -> None:
    register(client, verified_anna, key)
    r = passkey_login(client, verified_anna, key, origin="https://vau1t-phish.example")
    assert r.status_code == 401
    assert {"purpose": "login", "reason": "wrong_origin"}.items() <= _details(
        vault, AuditTag.AUTH_PASSKEY_FAILED
    )[-1].items()


def test_an_assertion_made_for_another_relying_party_is_refused(
    client: TestClient, verified_anna: Account, key: SoftKey, vault: Vault
) -> None:
    register(client, verified_anna, key)
    r = passkey_login(client, verified_anna, key, rp_id="phish.example")
    assert r.status_code == 401
    assert _details(vault, AuditTag.AUTH_PASSKEY_FAILED)[-1]["reason"] == "wrong_rp_id"


def test_registration_for_another_origin_is_refused(
    client: TestClient, verified_anna: Account, key: SoftKey, vault: Vault
) -> None:
    r = client.post("/api/v1/auth/passkeys/register/options", headers=bearer(verified_anna.token))
    bad = key.create(r.json()["options"], origin="http://localhost:9999")
    r = client.post(
        "/api/v1/auth/passkeys/register", headers=bearer(verified_anna.token), json={"credential": bad}
    )
    assert r.status_code == 400
    assert _details(vault, AuditTag.AUTH_PASSKEY_REGISTRATION_FAILED)[-1]["reason"] == "wrong_origin"
    with vault.db.session() as session:
        assert session.scalars(select(PasskeyCredential)).first() is None


def test_service_verifies_against_the_configured_origin(
    vault: Vault,
    system_ctx: Context,
    clock: FrozenClock,
    client: TestClient,
    verified_anna: Account,
    key: SoftKey,
) -> None:
    """The same response, checked with a different expected origin (another deployment), fails."""
    register(client, verified_anna, key)
    login(client, verified_anna)
    options = client.post("/api/v1/auth/passkeys/login/options", headers=bearer(verified_anna.token)).json()
    assertion = key.get(options["options"])
    other = Settings(webauthn_rp_id=RP_ID, webauthn_origin="https://dossierkluis.example")
    from vault.services.authentication import authenticate

    auth = AuthConfig.from_vault(vault)
    with transaction(vault.db) as session:
        info = authenticate(session, system_ctx, auth, verified_anna.token or "")
    with pytest.raises(AuthFailed, match="not valid"), transaction(vault.db) as session:
        passkeys.finish_authentication(
            session,
            system_ctx,
            auth,
            PasskeyConfig.from_settings(other),
            info,
            credential=assertion,
            purpose="login",
            client_address=None,
        )
    assert _details(vault, AuditTag.AUTH_PASSKEY_FAILED)[-1]["reason"] == "wrong_origin"


def test_challenges_are_single_use_a_replayed_response_is_refused(
    client: TestClient, verified_anna: Account, key: SoftKey, vault: Vault
) -> None:
    register(client, verified_anna, key)
    login(client, verified_anna)
    options = client.post("/api/v1/auth/passkeys/login/options", headers=bearer(verified_anna.token)).json()
    assertion = key.get(options["options"])
    first = client.post(
        "/api/v1/auth/passkeys/login", headers=bearer(verified_anna.token), json={"credential": assertion}
    )
    assert first.status_code == 200
    login(client, verified_anna)
    replay = client.post(
        "/api/v1/auth/passkeys/login", headers=bearer(verified_anna.token), json={"credential": assertion}
    )
    assert replay.status_code == 401
    assert _details(vault, AuditTag.AUTH_PASSKEY_FAILED)[-1]["reason"] == "no_challenge"


def test_a_challenge_is_bound_to_its_session(
    client: TestClient, verified_anna: Account, key: SoftKey, vault: Vault
) -> None:
    register(client, verified_anna, key)
    login(client, verified_anna)
    first_token = verified_anna.token
    options = client.post("/api/v1/auth/passkeys/login/options", headers=bearer(first_token)).json()
    login(client, verified_anna)  # a second session, without a challenge of its own
    r = client.post(
        "/api/v1/auth/passkeys/login",
        headers=bearer(verified_anna.token),
        json={"credential": key.get(options["options"])},
    )
    assert r.status_code == 401
    assert _details(vault, AuditTag.AUTH_PASSKEY_FAILED)[-1]["reason"] == "no_challenge"


def test_a_challenge_expires(
    client: TestClient, verified_anna: Account, key: SoftKey, clock: FrozenClock
) -> None:
    register(client, verified_anna, key)
    login(client, verified_anna)
    options = client.post("/api/v1/auth/passkeys/login/options", headers=bearer(verified_anna.token)).json()
    clock.advance(seconds=passkeys.CHALLENGE_TTL.total_seconds() + 1)
    r = client.post(
        "/api/v1/auth/passkeys/login",
        headers=bearer(verified_anna.token),
        json={"credential": key.get(options["options"])},
    )
    assert r.status_code == 401


def test_a_sign_count_going_backwards_is_refused_and_the_key_marked_suspect(
    client: TestClient, verified_anna: Account, key: SoftKey, vault: Vault
) -> None:
    register(client, verified_anna, key)
    assert passkey_login(client, verified_anna, key, count=7).status_code == 200
    clone = passkey_login(client, verified_anna, key, count=3)
    assert clone.status_code == 401
    flagged = _details(vault, AuditTag.AUTH_PASSKEY_CLONE_SUSPECTED)[-1]
    assert flagged["sign_count"] == 3
    assert flagged["stored_sign_count"] == 7
    with vault.db.session() as session:
        assert session.scalars(select(PasskeyCredential)).one().suspect_at is not None
    # A suspect key no longer signs in, even with a forward counter.
    login(client, verified_anna)
    r = client.post("/api/v1/auth/passkeys/login/options", headers=bearer(verified_anna.token))
    assert r.status_code == 409


def test_another_accounts_passkey_is_refused(
    client: TestClient,
    verified_anna: Account,
    key: SoftKey,
    vault: Vault,
    system_ctx: Context,
    clock: FrozenClock,
) -> None:
    register(client, verified_anna, key)
    bram = new_account(vault, system_ctx, "bram")
    enrol_and_verify(client, bram, clock)
    clock.advance(seconds=30)
    bram_key = SoftKey()
    register(client, bram, bram_key)
    login(client, bram)
    options = client.post("/api/v1/auth/passkeys/login/options", headers=bearer(bram.token)).json()
    r = client.post(
        "/api/v1/auth/passkeys/login",
        headers=bearer(bram.token),
        json={"credential": key.get(options["options"])},
    )
    assert r.status_code == 401
    assert _details(vault, AuditTag.AUTH_PASSKEY_FAILED)[-1]["reason"] == "unknown_credential"


def test_passkey_failures_count_toward_the_second_factor_rate_limit(
    client: TestClient, verified_anna: Account, key: SoftKey
) -> None:
    register(client, verified_anna, key)
    login(client, verified_anna)
    statuses = []
    for _ in range(6):
        options = client.post(
            "/api/v1/auth/passkeys/login/options", headers=bearer(verified_anna.token)
        ).json()
        bad = key.get(options["options"], origin="https://elsewhere.example")
        r = client.post(
            "/api/v1/auth/passkeys/login", headers=bearer(verified_anna.token), json={"credential": bad}
        )
        statuses.append(r.status_code)
    assert statuses[:5] == [401] * 5
    assert statuses[5] == 429


def test_malformed_credentials_are_4xx_not_500(
    client: TestClient, verified_anna: Account, key: SoftKey
) -> None:
    register(client, verified_anna, key)
    login(client, verified_anna)
    for junk in ({}, {"id": 5}, {"id": "x", "response": "nope"}, {"id": "x" * 2000, "rawId": [1, 2]}):
        client.post("/api/v1/auth/passkeys/login/options", headers=bearer(verified_anna.token))
        r = client.post(
            "/api/v1/auth/passkeys/login", headers=bearer(verified_anna.token), json={"credential": junk}
        )
        assert 400 <= r.status_code < 500, r.text
    r = client.post(
        "/api/v1/auth/passkeys/register/options", headers=bearer(verified_anna.token)
    )  # unverified session now: refused
    assert r.status_code == 401


def test_step_up_with_a_passkey(
    client: TestClient, verified_anna: Account, key: SoftKey, clock: FrozenClock, vault: Vault
) -> None:
    register(client, verified_anna, key)
    r = passkey_login(client, verified_anna, key)
    token = r.json()["token"]
    clock.advance(minutes=10)  # step-up is stale
    client.get("/api/v1/auth/sessions", headers=bearer(token))
    stale = client.post("/api/v1/auth/recovery/regenerate", headers=bearer(token))
    assert stale.json()["error"] == "step_up_required"
    options = client.post("/api/v1/auth/passkeys/step-up/options", headers=bearer(token)).json()
    r = client.post(
        "/api/v1/auth/passkeys/step-up",
        headers=bearer(token),
        json={"credential": key.get(options["options"])},
    )
    assert r.status_code == 200, r.text
    token = r.json()["token"]
    assert client.post("/api/v1/auth/recovery/regenerate", headers=bearer(token)).status_code == 200
    assert {"purpose": "step_up", "method": "passkey"}.items() <= _details(vault, AuditTag.AUTH_STEP_UP_OK)[
        -1
    ].items()


def test_remove_needs_step_up_and_keeps_the_row(
    client: TestClient, verified_anna: Account, key: SoftKey, clock: FrozenClock, vault: Vault
) -> None:
    created = register(client, verified_anna, key)
    token = verified_anna.token
    clock.advance(minutes=10)
    client.get("/api/v1/auth/sessions", headers=bearer(token))
    stale = client.delete(f"/api/v1/auth/passkeys/{created['id']}", headers=bearer(token))
    assert stale.json()["error"] == "step_up_required"
    assert verified_anna.secret
    r = client.post(
        "/api/v1/auth/step-up", headers=bearer(token), json={"code": totp_now(verified_anna.secret, clock)}
    )
    token = r.json()["token"]
    assert client.delete(f"/api/v1/auth/passkeys/{created['id']}", headers=bearer(token)).status_code == 204
    assert client.get("/api/v1/auth/passkeys", headers=bearer(token)).json() == []
    assert client.delete(f"/api/v1/auth/passkeys/{created['id']}", headers=bearer(token)).status_code == 404
    assert AuditTag.AUTH_PASSKEY_REMOVED in _tags(vault)
    with vault.db.session() as session:
        assert session.scalars(select(PasskeyCredential)).one().revoked_at is not None
    login(client, verified_anna)
    assert (
        client.post("/api/v1/auth/passkeys/login/options", headers=bearer(verified_anna.token)).status_code
        == 409
    )


# -- the role policy ---------------------------------------------------------------------------------


@pytest.fixture
def settings(tmp_path: Any, database_url: str) -> Settings:
    """These tests run with vertrouwensarts and admin requiring a passkey."""
    return passkey_role_settings(tmp_path, database_url)


@pytest.fixture
def doctor(vault: Vault, system_ctx: Context) -> Account:
    return new_account(vault, system_ctx, "dokter", Role.VERTROUWENSARTS)


def test_a_role_that_requires_passkeys_enrols_after_totp_in_an_enrolment_only_session(
    client: TestClient, doctor: Account, key: SoftKey, clock: FrozenClock, vault: Vault
) -> None:
    login(client, doctor)
    r = client.post("/api/v1/auth/totp/enrol", headers=bearer(doctor.token))
    from urllib.parse import parse_qs, urlparse

    doctor.secret = parse_qs(urlparse(r.json()["otpauth_uri"]).query)["secret"][0]
    r = client.post(
        "/api/v1/auth/totp/verify",
        headers=bearer(doctor.token),
        json={"code": totp_now(doctor.secret, clock)},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["second_factor_verified"] is False
    assert body["passkey_enrolment_only"] is True
    assert len(body["recovery_codes"]) == 10
    doctor.token = body["token"]
    # Only enrolment: no content, no session list.
    assert client.get("/api/v1/auth/sessions", headers=bearer(doctor.token)).status_code == 401
    assert AuditTag.AUTH_PASSKEY_ENROLMENT_ONLY in _tags(vault)
    register(client, doctor, key)
    # Still unverified after registering: the user signs in with the new passkey.
    assert client.get("/api/v1/auth/sessions", headers=bearer(doctor.token)).status_code == 401
    options = client.post("/api/v1/auth/passkeys/login/options", headers=bearer(doctor.token)).json()
    r = client.post(
        "/api/v1/auth/passkeys/login",
        headers=bearer(doctor.token),
        json={"credential": key.get(options["options"])},
    )
    assert r.status_code == 200
    assert client.get("/api/v1/auth/sessions", headers=bearer(r.json()["token"])).status_code == 200


def test_the_enrolment_window_closes(
    client: TestClient, doctor: Account, key: SoftKey, clock: FrozenClock
) -> None:
    enrol_and_verify(client, doctor, clock)
    clock.advance(seconds=passkeys.ENROLMENT_WINDOW.total_seconds() + 1)
    # (no request in between would keep the session alive past its idle timeout; touch it)
    r = client.post("/api/v1/auth/passkeys/register/options", headers=bearer(doctor.token))
    assert r.status_code == 401


def test_a_role_that_requires_passkeys_is_refused_with_totp_once_it_has_one(
    client: TestClient, doctor: Account, key: SoftKey, clock: FrozenClock, vault: Vault
) -> None:
    enrol_and_verify(client, doctor, clock)
    register(client, doctor, key)
    clock.advance(seconds=30)
    assert doctor.secret
    login(client, doctor)
    r = client.post(
        "/api/v1/auth/totp/verify",
        headers=bearer(doctor.token),
        json={"code": totp_now(doctor.secret, clock)},
    )
    assert r.status_code == 401
    assert "passkey" in r.json()["detail"]
    assert AuditTag.AUTH_PASSKEY_REQUIRED in _tags(vault)
    # A recovery code still passes (the lost-key way out), and it is audited.
    r = client.post(
        "/api/v1/auth/recovery/verify", headers=bearer(doctor.token), json={"code": doctor.recovery_codes[0]}
    )
    assert r.status_code == 200
    assert r.json()["second_factor_verified"] is True
    assert AuditTag.AUTH_RECOVERY_USED in _tags(vault)
    # TOTP step-up is refused too.
    token = r.json()["token"]
    clock.advance(seconds=30)
    r = client.post(
        "/api/v1/auth/step-up", headers=bearer(token), json={"code": totp_now(doctor.secret, clock)}
    )
    assert r.status_code == 401


def test_other_roles_keep_totp_beside_a_passkey(
    client: TestClient, verified_anna: Account, key: SoftKey, clock: FrozenClock
) -> None:
    register(client, verified_anna, key)
    login(client, verified_anna)
    assert verified_anna.secret
    r = client.post(
        "/api/v1/auth/totp/verify",
        headers=bearer(verified_anna.token),
        json={"code": totp_now(verified_anna.secret, clock)},
    )
    assert r.status_code == 200
    assert r.json()["passkey_enrolment_only"] is False


def test_unknown_roles_in_the_setting_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown roles"):
        Settings(passkey_required_roles="vertrouwensarts,dokter")


# -- administrators ----------------------------------------------------------------------------------


def test_admin_sees_factors_and_revokes_a_lost_key_and_the_user_is_told(
    client: TestClient,
    verified_anna: Account,
    key: SoftKey,
    vault: Vault,
    system_ctx: Context,
    clock: FrozenClock,
) -> None:
    created = register(client, verified_anna, key, "Telefoon")
    admin = new_account(vault, system_ctx, "beheer", Role.ADMIN)
    enrol_and_verify(client, admin, clock)  # admin requires a passkey here: enrolment only
    admin_key = SoftKey()
    register(client, admin, admin_key)
    r = passkey_login(client, admin, admin_key)
    admin.token = r.json()["token"]
    assert client.get("/api/v1/auth/factors", headers=bearer(verified_anna.token)).status_code == 403
    overview = {
        row["username"]: row for row in client.get("/api/v1/auth/factors", headers=bearer(admin.token)).json()
    }
    assert overview["anna"]["totp_active"] is True
    assert overview["anna"]["recovery_codes_left"] == 10
    assert [p["name"] for p in overview["anna"]["passkeys"]] == ["Telefoon"]
    assert overview["beheer"]["passkey_required"] is True
    assert AuditTag.AUTH_FACTORS_LISTED in _tags(vault)
    r = client.delete(f"/api/v1/auth/factors/anna/passkeys/{created['id']}", headers=bearer(admin.token))
    assert r.status_code == 204, r.text
    assert _details(vault, AuditTag.AUTH_PASSKEY_REVOKED)[-1]["user"] == verified_anna.user_id
    # Anna's sessions ended; at the next sign-in she is told, once.
    assert client.get("/api/v1/auth/passkeys", headers=bearer(verified_anna.token)).status_code == 401
    login(client, verified_anna)
    r = client.post("/api/v1/auth/passkeys/login/options", headers=bearer(verified_anna.token))
    assert r.status_code == 409  # no passkey left
    with vault.db.session() as session:
        row = session.get(PasskeyCredential, created["id"])
        assert row is not None
        assert row.revocation_seen_at is None  # the 409 does not name it: told on the next sign-in page
        assert row.revoke_reason == "revoked_by_admin"
    assert (
        client.delete(
            f"/api/v1/auth/factors/anna/passkeys/{created['id']}", headers=bearer(admin.token)
        ).status_code
        == 404
    )


def test_revocation_notice_is_given_with_the_sign_in_options(
    client: TestClient, verified_anna: Account, vault: Vault, system_ctx: Context, clock: FrozenClock
) -> None:
    lost, kept = SoftKey(), SoftKey()
    lost_id = register(client, verified_anna, lost, "Kwijt")["id"]
    register(client, verified_anna, kept, "Thuis")
    with transaction(vault.db) as session:
        from vault.services.authentication import passkey_policy

        passkey_policy.revoke_passkey(session, system_ctx, "anna", lost_id, step_up_minutes=5)
    login(client, verified_anna)
    first = client.post("/api/v1/auth/passkeys/login/options", headers=bearer(verified_anna.token)).json()
    assert first["revoked_by_admin"] == ["Kwijt"]
    again = client.post("/api/v1/auth/passkeys/login/options", headers=bearer(verified_anna.token)).json()
    assert again["revoked_by_admin"] == []


def test_no_challenge_or_key_material_in_the_audit_log(
    client: TestClient, verified_anna: Account, key: SoftKey, vault: Vault
) -> None:
    register(client, verified_anna, key)
    assert passkey_login(client, verified_anna, key).status_code == 200
    with vault.db.session() as session:
        challenges = [c.challenge for c in session.scalars(select(PasskeyChallenge))]
        cred = session.scalars(select(PasskeyCredential)).one()
        details = " ".join(session.scalars(select(AuditEntry.details)))
    assert challenges
    for secret_ish in [*challenges, cred.credential_id, b64(cred.public_key)]:
        assert secret_ish not in details


def test_d17_a_passkey_sign_in_tells_a_user_with_a_generated_password_to_change_it(
    client: TestClient, verified_anna: Account, key: SoftKey, vault: Vault
) -> None:
    register(client, verified_anna, key)
    with vault.db.session() as session:  # as if an administrator had generated her password
        session.execute(
            update(User).where(User.id == verified_anna.user_id).values(password_change_required=True)
        )
    r = passkey_login(client, verified_anna, key)
    assert r.status_code == 200, r.text
    assert r.json()["password_change_required"] is True
    held = client.get("/api/v1/auth/sessions", headers=bearer(r.json()["token"]))
    assert held.status_code == 403
    assert "/api/v1/auth/password" in held.text
