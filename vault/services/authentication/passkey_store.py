"""Passkey storage shared by the ceremonies (``passkeys``) and the role policy: the relying-party
settings, the credentials of an account, the single-use challenges (bound to a session and a purpose,
short-lived, consumed atomically, and started a bounded number of times), the revocation notices and
the user's own removal (never of the last second factor; the user's other sessions end)."""

from __future__ import annotations

import json
import math
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.structs import AuthenticatorTransport

from vault.audit import record
from vault.auth import AuthConfig
from vault.config import Settings
from vault.context import Context
from vault.domain import AuditTag, Decision
from vault.errors import AuthFailed, Conflict, InvalidInput, NotFound, RateLimited
from vault.models.identity import PasskeyChallenge, PasskeyCredential
from vault.repositories import identity as repo
from vault.services.authentication.common import SessionInfo, live_session_row
from vault.services.authentication.sessions import require_step_up
from vault.transaction import Refusal

__all__ = [
    "CEREMONY_STARTS",
    "CEREMONY_WINDOW",
    "CHALLENGE_TTL",
    "ENROLMENT_WINDOW",
    "LAST_FACTOR",
    "MAX_CREDENTIAL_JSON",
    "TIMEOUT_MS",
    "TRANSPORTS",
    "PasskeyConfig",
    "PasskeySummary",
    "RequestOptions",
    "active_credentials",
    "credential_json",
    "enrolment_window_open",
    "failure_reason",
    "has_passkey",
    "list_passkeys",
    "may_enrol",
    "new_challenge",
    "remove_passkey",
    "revocation_notices",
    "summary",
    "take_challenge",
]

CHALLENGE_TTL = timedelta(minutes=2)
ENROLMENT_WINDOW = timedelta(minutes=10)
PURPOSES = frozenset({"register", "login", "step_up"})
MAX_CREDENTIAL_JSON = 64 * 1024
WRONG_PASSKEY = "the passkey response is not valid"
TIMEOUT_MS = int(CHALLENGE_TTL.total_seconds() * 1000)
TRANSPORTS = {t.value for t in AuthenticatorTransport}
# Ceremony starts per session and purpose within the window: each start writes an audit entry and a
# challenge row, and a password alone may start a sign-in; a person needs a handful at most.
CEREMONY_STARTS = 10
CEREMONY_WINDOW = timedelta(minutes=10)
LAST_FACTOR = "this is the account's last second factor: set up another one (a passkey or the app) first"


@dataclass(frozen=True)
class PasskeyConfig:
    """The relying party every ceremony is checked against, and the roles that need a passkey."""

    rp_id: str
    origin: str
    required_roles: frozenset[str] = frozenset()
    rp_name: str = "Dossierkluis Veilig Thuis"

    @classmethod
    def from_settings(cls, settings: Settings) -> PasskeyConfig:
        return cls(settings.webauthn_rp_id, settings.webauthn_origin, settings.passkey_roles)

    def requires_passkey(self, role: str) -> bool:
        return role in self.required_roles


@dataclass(frozen=True)
class PasskeySummary:
    id: str
    name: str
    created_at: datetime
    last_used_at: datetime | None
    backup_eligible: bool
    backed_up: bool
    suspect: bool
    transports: tuple[str, ...]


@dataclass(frozen=True)
class RequestOptions:
    """The options for ``navigator.credentials.get`` and the names of passkeys an administrator
    revoked since the user last signed in (they are told once)."""

    options: dict[str, Any]
    revoked_by_admin: tuple[str, ...] = ()


def summary(row: PasskeyCredential) -> PasskeySummary:
    return PasskeySummary(
        row.id,
        row.name,
        row.created_at,
        row.last_used_at,
        row.backup_eligible,
        row.backed_up,
        row.suspect_at is not None,
        tuple(t for t in row.transports.split(",") if t),
    )


def active_credentials(session: Session, user_id: str) -> list[PasskeyCredential]:
    return list(
        session.scalars(
            select(PasskeyCredential)
            .where(PasskeyCredential.user_id == user_id, PasskeyCredential.revoked_at.is_(None))
            .order_by(PasskeyCredential.created_at, PasskeyCredential.id)
        )
    )


def has_passkey(session: Session, user_id: str) -> bool:
    """Whether the user has a usable (not revoked, not suspect) passkey."""
    return any(row.suspect_at is None for row in active_credentials(session, user_id))


def list_passkeys(session: Session, info: SessionInfo) -> list[PasskeySummary]:
    """The caller's own passkeys (not the removed or revoked ones)."""
    return [summary(row) for row in active_credentials(session, info.user_id)]


def enrolment_window_open(session: Session, info: SessionInfo, now: datetime) -> bool:
    """An unverified session of a passkey role, after its TOTP or recovery code, within the window."""
    row = live_session_row(session, info)
    until = row.passkey_enrolment_until
    return not info.second_factor_verified and until is not None and until > now


def may_enrol(session: Session, ctx: Context, auth: AuthConfig, info: SessionInfo) -> bool:
    """A verified session with a fresh factor (step-up), or an enrolment-only session in its window."""
    if info.second_factor_verified:
        require_step_up(info, ctx, auth)
        return True
    row = live_session_row(session, info)
    until = row.passkey_enrolment_until
    if until is None or until <= ctx.now():
        raise AuthFailed("this session has not passed its second factor")
    return True


def _limit_starts(session: Session, ctx: Context, info: SessionInfo, purpose: str, tag: AuditTag) -> None:
    """At most ``CEREMONY_STARTS`` challenges per (session, purpose) within ``CEREMONY_WINDOW``; over
    it, 429 with the seconds until the oldest leaves the window. Only the first refusal in a window is
    audited (and kept as a spent, never-issued row: ``expires_at == created_at``), so a password-only
    session cannot fill the log with refusals either."""
    now = ctx.now()
    rows = session.execute(
        select(PasskeyChallenge.created_at, PasskeyChallenge.expires_at).where(
            PasskeyChallenge.session_id == info.session_id,
            PasskeyChallenge.purpose == purpose,
            PasskeyChallenge.created_at > now - CEREMONY_WINDOW,
        )
    ).all()
    issued = sorted(created for created, expires in rows if expires > created)
    if len(issued) < CEREMONY_STARTS:
        return
    wait = max(1, math.ceil((issued[-CEREMONY_STARTS] + CEREMONY_WINDOW - now).total_seconds()))
    if len(issued) == len(rows):  # the first refusal in this window
        session.add(_challenge_row(info, purpose, secrets.token_bytes(32), now, expires_at=now, used_at=now))
        session.flush()
        record(
            session,
            ctx,
            tag,
            object_type="user",
            object_id=info.user_id,
            decision=Decision.DENY,
            details={"purpose": purpose, "reason": "rate_limited", "starts": len(issued)},
        )
    raise Refusal(RateLimited("too many passkey ceremonies started; try again later", retry_after=wait))


def _challenge_row(
    info: SessionInfo,
    purpose: str,
    challenge: bytes,
    now: datetime,
    *,
    expires_at: datetime,
    used_at: datetime | None,
) -> PasskeyChallenge:
    return PasskeyChallenge(
        id=str(uuid.uuid4()),
        session_id=info.session_id,
        purpose=purpose,
        challenge=bytes_to_base64url(challenge),
        created_at=now,
        expires_at=expires_at,
        used_at=used_at,
    )


def new_challenge(session: Session, ctx: Context, info: SessionInfo, purpose: str, *, tag: AuditTag) -> bytes:
    """A fresh challenge for (session, purpose); earlier unused ones of that pair are spent. Over the
    limit of starts (``_limit_starts``) a ``Refusal`` (429), audited under ``tag`` once per window."""
    _limit_starts(session, ctx, info, purpose, tag)
    now = ctx.now()
    session.execute(
        update(PasskeyChallenge)
        .where(
            PasskeyChallenge.session_id == info.session_id,
            PasskeyChallenge.purpose == purpose,
            PasskeyChallenge.used_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    challenge = secrets.token_bytes(32)
    session.add(_challenge_row(info, purpose, challenge, now, expires_at=now + CHALLENGE_TTL, used_at=None))
    session.flush()
    return challenge


def take_challenge(session: Session, ctx: Context, info: SessionInfo, purpose: str) -> bytes | None:
    """The session's live challenge for ``purpose``, consumed atomically; None if none (or spent)."""
    now = ctx.now()
    row = session.scalars(
        select(PasskeyChallenge)
        .where(
            PasskeyChallenge.session_id == info.session_id,
            PasskeyChallenge.purpose == purpose,
            PasskeyChallenge.used_at.is_(None),
            PasskeyChallenge.expires_at > now,
        )
        .order_by(PasskeyChallenge.created_at.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    result = session.execute(
        update(PasskeyChallenge)
        .where(PasskeyChallenge.id == row.id, PasskeyChallenge.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if int(getattr(result, "rowcount", 0) or 0) != 1:
        return None
    return base64url_to_bytes(row.challenge)


def credential_json(credential: Mapping[str, Any]) -> str:
    """The browser's ``credential.toJSON()``, bounded; the library parses and checks its shape."""
    text = json.dumps(credential)
    if len(text) > MAX_CREDENTIAL_JSON:
        raise InvalidInput("the passkey response is too large")
    return text


def failure_reason(exc: Exception) -> str:
    """A short, fixed reason for the audit entry (never the library's message, which echoes input)."""
    message = str(exc).lower()
    for needle, reason in (
        ("origin", "wrong_origin"),
        ("rp id", "wrong_rp_id"),
        ("challenge", "wrong_challenge"),
        ("signature", "bad_signature"),
        ("user was not present", "no_user_presence"),
        ("user verification", "no_user_verification"),
    ):
        if needle in message:
            return reason
    return "invalid_response"


def revocation_notices(session: Session, user_id: str, now: datetime) -> tuple[str, ...]:
    """Names of passkeys an administrator revoked that the user has not been told of; now told. Call
    it only for an answer that shows the names to the user: a notice is given once."""
    rows = list(
        session.scalars(
            select(PasskeyCredential).where(
                PasskeyCredential.user_id == user_id,
                PasskeyCredential.revoke_reason == "revoked_by_admin",
                PasskeyCredential.revocation_seen_at.is_(None),
            )
        )
    )
    for row in rows:
        row.revocation_seen_at = now
    session.flush()
    return tuple(row.name for row in rows)


def _keeps_a_factor(session: Session, user_id: str, removed_id: str) -> bool:
    """Whether a usable second factor remains without ``removed_id``: another usable passkey, or an
    active TOTP factor. The user's live passkeys are locked first (PostgreSQL; SQLite serialises
    anyway), so two removals at once cannot each count on the key the other removes."""
    live = session.scalars(
        select(PasskeyCredential)
        .where(PasskeyCredential.user_id == user_id, PasskeyCredential.revoked_at.is_(None))
        .order_by(PasskeyCredential.id)
        .with_for_update()
    ).all()
    if any(row.id != removed_id and row.suspect_at is None for row in live):
        return True
    factor = repo.factor_for(session, user_id)
    return factor is not None and factor.active


def remove_passkey(
    session: Session, ctx: Context, auth: AuthConfig, info: SessionInfo, passkey_id: str
) -> None:
    """The user removes one of their passkeys (needs step-up); kept as revoked, never deleted.

    Never the last second factor (409): without one, a password alone would set up a factor of its own
    (``second_factor.require_passkey_session`` guards only while a passkey exists). The key may be lost,
    so every other session of the user ends (one may be the finder's), as after a password change."""
    require_step_up(info, ctx, auth)
    row = session.get(PasskeyCredential, passkey_id[:36])
    if row is None or row.user_id != info.user_id or row.revoked_at is not None:
        raise NotFound("no such passkey")
    if not _keeps_a_factor(session, info.user_id, row.id):
        raise Conflict(LAST_FACTOR)
    now = ctx.now()
    row.revoked_at = now
    row.revoked_by = info.user_id
    row.revoke_reason = "removed_by_user"
    ended = repo.end_sessions(
        session, info.user_id, now=now, reason="passkey_removed", keep_session_id=info.session_id
    )
    session.flush()
    record(
        session,
        ctx,
        AuditTag.AUTH_PASSKEY_REMOVED,
        object_type="passkey",
        object_id=row.id,
        details={"sessions_ended": len(ended)},
    )
