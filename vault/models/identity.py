"""Identity: teams, organisations, accounts, second factors, recovery codes, sessions, attempts (D17).

No secret is stored in clear: passwords as argon2id hashes, TOTP secrets AES-GCM sealed under the
TOTP subkey (associated data: table, column, user id), recovery codes and session tokens as keyed
hashes, client addresses as keyed hashes.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, LargeBinary, String, false
from sqlalchemy.orm import Mapped, mapped_column

from vault.models.base import Base, UTCDateTime

__all__ = [
    "AuthAttempt",
    "AuthSession",
    "Organisation",
    "PasskeyChallenge",
    "PasskeyCredential",
    "RecoveryCode",
    "Team",
    "TeamMembership",
    "TotpFactor",
    "User",
]


class Team(Base):
    __tablename__ = "teams"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class Organisation(Base):
    """A partner organisation; ``org_type`` is a `vault.domain.OrgType` value."""

    __tablename__ = "organisations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), nullable=False, unique=True)
    org_type: Mapped[str] = mapped_column(String(32), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class User(Base):
    """An account. ``role`` is a `vault.domain.Role` value; partners carry ``org_id``.

    ``password_change_required``: the password was generated (``vault user add``, the administrator's
    "Nieuw account") and seen by someone else; after password and second factor the user's session is
    held until they choose their own (docs/security.md "Initial passwords").
    """

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    role: Mapped[str] = mapped_column(String(32), nullable=False)
    org_id: Mapped[str | None] = mapped_column(ForeignKey("organisations.id"), nullable=True)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    disabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    password_change_required: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=false()
    )

    __table_args__ = (Index("ix_users_org_id", "org_id"),)


class TeamMembership(Base):
    __tablename__ = "team_memberships"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id"), primary_key=True)

    __table_args__ = (Index("ix_team_memberships_team_id", "team_id"),)


class TotpFactor(Base):
    """One TOTP factor per account. Pending until the first correct code; then ``active``.

    ``last_step`` is the last accepted RFC 6238 time step: codes of that step or earlier are replays.
    """

    __tablename__ = "totp_factors"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    secret_sealed: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class RecoveryCode(Base):
    """A recovery code as a keyed hash. Burned (``used_at``) or revoked, never deleted."""

    __tablename__ = "recovery_codes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), nullable=False)
    code_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (Index("ix_recovery_codes_user_id", "user_id"),)


class AuthSession(Base):
    """A login session. Only a keyed hash of the bearer token is stored."""

    __tablename__ = "auth_sessions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    access_point: Mapped[str] = mapped_column(String(16), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    second_factor_verified: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    factor_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    end_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # A role that must use a passkey, signed in with TOTP or a recovery code and no passkey yet: until
    # then the session (still unverified) may only register a passkey (docs/security.md).
    passkey_enrolment_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (Index("ix_auth_sessions_user_id", "user_id"),)


class AuthAttempt(Base):
    """A failed authentication attempt, for rate limits that hold across workers and restarts.

    ``account_key`` is a user id, or a keyed hash of an unknown username; ``client_key`` a keyed hash of
    the client address. ``kind`` is ``password`` or ``second_factor``.
    """

    __tablename__ = "auth_attempts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    account_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    client_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)

    __table_args__ = (
        Index("ix_auth_attempts_kind_account_key_occurred_at", "kind", "account_key", "occurred_at"),
        Index("ix_auth_attempts_kind_client_key_occurred_at", "kind", "client_key", "occurred_at"),
    )


class PasskeyCredential(Base):
    """A passkey / security key (WebAuthn) of an account: a second factor beside TOTP.

    ``credential_id`` is the authenticator's credential id (base64url), ``public_key`` its COSE public
    key (not a secret). ``sign_count`` is the last counter seen: a response whose counter does not move
    forward (when either is non-zero) marks the key ``suspect_at`` (a cloned authenticator) and is
    refused. ``backup_eligible`` / ``backed_up`` are the BE/BS flags; BE cannot change for a
    credential. Removed by the user or revoked by an administrator: ``revoked_at``, never deleted;
    ``revocation_seen_at`` is when the user was told of an administrator's revocation.
    """

    __tablename__ = "passkey_credentials"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), nullable=False)
    credential_id: Mapped[str] = mapped_column(String(1400), nullable=False, unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    sign_count: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    transports: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    backup_eligible: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    backed_up: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    suspect_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    revoke_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    revocation_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (Index("ix_passkey_credentials_user_id", "user_id"),)


class PasskeyChallenge(Base):
    """A WebAuthn challenge: bound to one session and one purpose (``register``, ``login``,
    ``step_up``), short-lived, used at most once (``used_at`` set atomically)."""

    __tablename__ = "passkey_challenges"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("auth_sessions.id"), nullable=False)
    purpose: Mapped[str] = mapped_column(String(16), nullable=False)
    challenge: Mapped[str] = mapped_column(String(128), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (Index("ix_passkey_challenges_session_id_purpose", "session_id", "purpose"),)
