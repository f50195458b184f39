"""Session 16 review, A4 (D17): a session that passed only the password started TOTP enrolment
without limit. Each ``POST /api/v1/auth/totp/enrol`` (or "QR-code tonen") wrote an audit entry and
replaced the pending secret: a script with the password of an account still to enrol (a new account,
one after a reset) filled the log and kept the owner's scanned QR code from ever working. Session 13
limited passkey ceremony starts for the same reason; TOTP enrolment starts now have the same bound:
at most 10 per account in 10 minutes, then 429 with ``Retry-After``, only the first refusal of a
window audited, the pending secret untouched by a refused start.

Real app, real database, real TOTP; the FrozenClock is the only double.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.auth.conftest import Account, bearer, login, totp_now
from vault.context import FrozenClock
from vault.domain import AuditTag
from vault.models import AuditEntry
from vault.runtime import Vault


def _starts(vault: Vault) -> list[str]:
    with vault.db.session() as session:
        tag = str(AuditTag.AUTH_TOTP_ENROLMENT_STARTED)
        return list(session.scalars(select(AuditEntry.decision).where(AuditEntry.tag == tag)))


def _secret(answer: dict[str, str]) -> str:
    return str(parse_qs(urlparse(answer["otpauth_uri"]).query)["secret"][0])


def test_d17_a_password_alone_cannot_restart_totp_enrolment_without_limit(
    client: TestClient, anna: Account, vault: Vault, clock: FrozenClock
) -> None:
    login(client, anna)
    h = bearer(anna.token)
    last = ""
    for _ in range(10):
        r = client.post("/api/v1/auth/totp/enrol", headers=h)
        assert r.status_code == 200, r.text
        last = _secret(r.json())
        clock.advance(seconds=5)

    refused = client.post("/api/v1/auth/totp/enrol", headers=h)
    assert refused.status_code == 429, refused.text  # before: 200, an audit entry and a new secret each
    assert 0 < int(refused.headers["retry-after"]) <= 600
    again = client.post("/api/v1/auth/totp/enrol", headers=h)
    assert again.status_code == 429
    assert _starts(vault).count("allow") == 10
    assert _starts(vault).count("deny") == 1  # the first refusal of the window only

    # The secret of the last start that was allowed still activates the factor.
    r = client.post("/api/v1/auth/totp/verify", headers=h, json={"code": totp_now(last, clock)})
    assert r.status_code == 200, r.text


def test_d17_enrolment_starts_are_allowed_again_once_the_window_moved_on(
    client: TestClient, anna: Account, vault: Vault, clock: FrozenClock
) -> None:
    login(client, anna)
    h = bearer(anna.token)
    for _ in range(10):
        assert client.post("/api/v1/auth/totp/enrol", headers=h).status_code == 200
    refused = client.post("/api/v1/auth/totp/enrol", headers=h)
    assert refused.status_code == 429
    clock.advance(seconds=int(refused.headers["retry-after"]))
    login(client, anna)  # the first session went idle meanwhile
    assert client.post("/api/v1/auth/totp/enrol", headers=bearer(anna.token)).status_code == 200
