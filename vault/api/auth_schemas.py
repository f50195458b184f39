"""Request and response bodies of /api/v1/auth. Limits are enforced before any hashing."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from vault.auth.passwords import MAX_PASSWORD_BYTES
from vault.services.authentication.common import IssuedSession

__all__ = [
    "EnrolmentOut",
    "LoginIn",
    "LoginOut",
    "PasswordChangeIn",
    "PasswordChangeOut",
    "RecoveryCodesOut",
    "SecondFactorIn",
    "SessionOut",
    "VerifiedOut",
]


def _bounded_password(value: str) -> str:
    if len(value.encode("utf-8")) > MAX_PASSWORD_BYTES:
        raise ValueError(f"at most {MAX_PASSWORD_BYTES} bytes")
    return value


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)


class LoginIn(_In):
    # No control characters (a NUL cannot even be looked up on PostgreSQL).
    username: str = Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")
    password: str = Field(min_length=1, max_length=MAX_PASSWORD_BYTES)

    _password_bytes = field_validator("password")(_bounded_password)


class LoginOut(BaseModel):
    token: str = Field(description="Bearer token; send as `Authorization: Bearer <token>`.")
    session_id: str
    expires_at: datetime
    second_factor_verified: bool
    enrolment_required: bool = Field(description="True until a TOTP factor has been activated.")
    password_change_required: bool = Field(
        default=False,
        description="The password was generated (shown once to an administrator): after the second factor "
        "every route but POST /api/v1/auth/password (and logout) answers 403 until it is changed.",
    )


class SecondFactorIn(_In):
    code: str = Field(min_length=1, max_length=64)


class VerifiedOut(BaseModel):
    token: str = Field(description="The rotated bearer token; the previous one no longer works.")
    session_id: str
    expires_at: datetime
    second_factor_verified: bool
    recovery_codes: list[str] = Field(
        default_factory=list, description="Only when the factor was just activated: shown once."
    )
    passkey_enrolment_only: bool = Field(
        default=False,
        description="A role that needs a passkey and has none: the session stays unverified and may only "
        "register a passkey (POST /api/v1/auth/passkeys/register/options), then sign in with it.",
    )
    password_change_required: bool = Field(
        default=False,
        description="The account's password was generated: every route but POST /api/v1/auth/password "
        "(and logout) answers 403 until the user has chosen their own.",
    )

    @classmethod
    def of(
        cls, issued: IssuedSession, *, enrolment_only: bool = False, change_required: bool = False
    ) -> VerifiedOut:
        return cls(
            token=issued.token,
            session_id=issued.session_id,
            expires_at=issued.expires_at,
            second_factor_verified=issued.second_factor_verified,
            recovery_codes=list(issued.recovery_codes),
            passkey_enrolment_only=enrolment_only,
            password_change_required=change_required,
        )


class EnrolmentOut(BaseModel):
    otpauth_uri: str
    qr_svg: str


class RecoveryCodesOut(BaseModel):
    recovery_codes: list[str]


class SessionOut(BaseModel):
    session_id: str
    access_point: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    second_factor_verified: bool
    current: bool


class PasswordChangeIn(_In):
    current_password: str = Field(min_length=1, max_length=MAX_PASSWORD_BYTES)
    new_password: str = Field(min_length=1, max_length=MAX_PASSWORD_BYTES)

    _password_bytes = field_validator("current_password", "new_password")(_bounded_password)


class PasswordChangeOut(BaseModel):
    other_sessions_ended: int
    token: str = Field(
        description="The rotated bearer token of this session; the previous one no longer works."
    )
    expires_at: datetime
