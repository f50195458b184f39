"""Request and response bodies of the passkey routes of /api/v1/auth (WebAuthn, docs/api.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "CreationOptionsOut",
    "PasskeyAssertionIn",
    "PasskeyOut",
    "PasskeyRegistrationIn",
    "RequestOptionsOut",
    "UserFactorsOut",
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)


class CreationOptionsOut(BaseModel):
    options: dict[str, Any] = Field(
        description="PublicKeyCredentialCreationOptionsJSON: pass to "
        "PublicKeyCredential.parseCreationOptionsFromJSON, then navigator.credentials.create."
    )


class RequestOptionsOut(BaseModel):
    options: dict[str, Any] = Field(
        description="PublicKeyCredentialRequestOptionsJSON: pass to "
        "PublicKeyCredential.parseRequestOptionsFromJSON, then navigator.credentials.get."
    )
    revoked_by_admin: list[str] = Field(
        default_factory=list, description="Names of passkeys an administrator revoked (told once)."
    )


class PasskeyRegistrationIn(_In):
    credential: dict[str, Any] = Field(
        description="The new credential's toJSON() (RegistrationResponseJSON)."
    )
    name: str = Field(default="", max_length=64, description="A name the user recognises the key by.")


class PasskeyAssertionIn(_In):
    credential: dict[str, Any] = Field(description="The assertion's toJSON() (AuthenticationResponseJSON).")


class PasskeyOut(BaseModel):
    id: str
    name: str
    created_at: datetime
    last_used_at: datetime | None
    backup_eligible: bool
    backed_up: bool
    suspect: bool = Field(description="The sign count went backwards: refused until revoked.")
    transports: list[str]


class UserFactorsOut(BaseModel):
    user_id: str
    username: str
    role: str
    disabled: bool
    totp_active: bool
    recovery_codes_left: int
    passkey_required: bool
    passkeys: list[PasskeyOut]
