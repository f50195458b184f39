"""What the authentication services need from the running vault, gathered once per call site."""

from __future__ import annotations

from dataclasses import dataclass

from vault.auth.passwords import PasswordHashing
from vault.crypto.keys import SecretKey, SubkeyPurpose
from vault.runtime import Vault

__all__ = ["AuthConfig"]


@dataclass(frozen=True)
class AuthConfig:
    """Hashing profile, the two subkeys (TOTP sealing; keyed hashes) and the session lifetimes."""

    hashing: PasswordHashing
    totp_key: SecretKey
    hash_key: SecretKey
    idle_minutes: int = 15
    absolute_hours: int = 8
    step_up_minutes: int = 5
    generated_password_days: int = 7

    @classmethod
    def from_vault(cls, vault: Vault) -> AuthConfig:
        s = vault.settings
        return cls(
            hashing=PasswordHashing(s.password_hashing),
            totp_key=vault.keys.subkey(SubkeyPurpose.TOTP),
            hash_key=vault.keys.subkey(SubkeyPurpose.SESSION),
            idle_minutes=s.session_idle_minutes,
            absolute_hours=s.session_absolute_hours,
            step_up_minutes=s.step_up_minutes,
            generated_password_days=s.generated_password_days,
        )
