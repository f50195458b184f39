"""Passwords: argon2id through argon2-cffi's RFC 9106 low-memory profile.

``fast_insecure_for_tests`` selects deliberately cheap parameters so the suite stays fast; one test runs
the real profile. A stored hash made with weaker parameters is replaced on the next successful login;
never one made with stronger parameters (a node started with the test profile must not turn every strong
hash it verifies into a cheap one).
Passwords over 1 KiB are refused before any hashing (an argon2 call on a huge input is a DoS lever).
"""

from __future__ import annotations

import threading
from typing import Literal

from argon2 import Parameters, PasswordHasher, Type, extract_parameters
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from argon2.profiles import RFC_9106_LOW_MEMORY

from vault.errors import InvalidInput

__all__ = [
    "MAX_PASSWORD_BYTES",
    "MIN_PASSWORD_LENGTH",
    "HashingProfile",
    "PasswordHashing",
    "check_new_password",
    "check_password_size",
]

MAX_PASSWORD_BYTES = 1024
MIN_PASSWORD_LENGTH = 12

HashingProfile = Literal["rfc9106_low_memory", "fast_insecure_for_tests"]

_FAST_INSECURE = Parameters(
    type=Type.ID, version=19, salt_len=16, hash_len=32, time_cost=1, memory_cost=8, parallelism=1
)


def check_password_size(password: str) -> bytes:
    """The password as UTF-8; InvalidInput (without echoing it) when empty or over 1 KiB."""
    raw = password.encode("utf-8")
    if not raw:
        raise InvalidInput("password must not be empty")
    if len(raw) > MAX_PASSWORD_BYTES:
        raise InvalidInput(f"password must be at most {MAX_PASSWORD_BYTES} bytes")
    return raw


def check_new_password(password: str) -> bytes:
    """Rules for a password a person chooses: 12 characters or more, at most 1 KiB."""
    raw = check_password_size(password)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"a new password needs at least {MIN_PASSWORD_LENGTH} characters")
    return raw


class PasswordHashing:
    """Hash, verify and check parameters; ``verify`` never raises on a wrong password."""

    _dummies: dict[str, str] = {}  # noqa: RUF012 — per-profile dummy hash, computed once per process
    _dummy_lock = threading.Lock()

    _hashers: dict[str, PasswordHasher] = {}  # noqa: RUF012 — one per profile (its parameters are fixed)

    def __init__(self, profile: HashingProfile) -> None:
        self.profile = profile
        hasher = self._hashers.get(profile)
        if hasher is None:
            params = _FAST_INSECURE if profile == "fast_insecure_for_tests" else RFC_9106_LOW_MEMORY
            hasher = self._hashers[profile] = PasswordHasher.from_parameters(params)
        self._hasher = hasher

    def __repr__(self) -> str:
        return f"PasswordHashing(profile={self.profile!r})"

    def hash(self, password: str) -> str:
        return self._hasher.hash(check_password_size(password))

    def verify(self, stored_hash: str, password: str) -> bool:
        raw = check_password_size(password)
        try:
            return self._hasher.verify(stored_hash, raw)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        """True only when the configured parameters are stronger: a lower memory or time cost is
        upgraded, a higher one is kept, whatever this node is configured with (rehash upward only).
        Equal costs with another variant, version or length follow argon2's own check."""
        try:
            stored = extract_parameters(stored_hash)
        except (InvalidHashError, ValueError):
            return True
        hasher = self._hasher
        if stored.memory_cost > hasher.memory_cost or stored.time_cost > hasher.time_cost:
            return False
        if stored.memory_cost < hasher.memory_cost or stored.time_cost < hasher.time_cost:
            return True
        return hasher.check_needs_rehash(stored_hash)

    def spend_dummy(self, password: str) -> None:
        """Spend one verification's worth of work, so an unknown user answers as slowly as a known one."""
        with self._dummy_lock:
            dummy = self._dummies.get(self.profile)
            if dummy is None:
                dummy = self._hasher.hash(b"vault-dummy-password-never-matches")
                self._dummies[self.profile] = dummy
        self.verify(dummy, password)
