"""Authentication building blocks (D17): passwords, TOTP, recovery codes, session tokens, rate limits.

The use cases that combine them (login, second factor, step-up, sessions) are in
`vault.services.authentication`; account administration in `vault.services.accounts`.
"""

from vault.auth.config import AuthConfig
from vault.auth.keyed import keyed_hash
from vault.auth.passwords import MAX_PASSWORD_BYTES, PasswordHashing, check_new_password, check_password_size
from vault.auth.ratelimit import AttemptKind, check_limits, record_failure
from vault.auth.recovery import CODES_PER_SET, hash_code, new_code, normalise_code
from vault.auth.sessions import expiry_reason, hash_token, new_token, step_up_fresh
from vault.auth.totp import (
    CodeOutcome,
    check_code,
    new_secret,
    open_secret,
    provisioning_uri,
    qr_svg,
    seal_secret,
)

__all__ = [
    "CODES_PER_SET",
    "MAX_PASSWORD_BYTES",
    "AttemptKind",
    "AuthConfig",
    "CodeOutcome",
    "PasswordHashing",
    "check_code",
    "check_limits",
    "check_new_password",
    "check_password_size",
    "expiry_reason",
    "hash_code",
    "hash_token",
    "keyed_hash",
    "new_code",
    "new_secret",
    "new_token",
    "normalise_code",
    "open_secret",
    "provisioning_uri",
    "qr_svg",
    "record_failure",
    "seal_secret",
    "step_up_fresh",
]
