"""Session tokens and their lifetime: 256-bit random, stored only as keyed hashes."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from vault.auth.keyed import LABEL_SESSION_TOKEN, keyed_hash
from vault.crypto.keys import SecretKey

__all__ = ["MAX_TOKEN_LENGTH", "expiry_reason", "hash_token", "new_token", "step_up_fresh"]

MAX_TOKEN_LENGTH = 128


def new_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(key: SecretKey, token: str) -> str:
    return keyed_hash(key, LABEL_SESSION_TOKEN, token)


def expiry_reason(
    *, now: datetime, last_seen_at: datetime, expires_at: datetime, idle_minutes: int
) -> str | None:
    """``"absolute"`` or ``"idle"`` when the session is over, else None."""
    if now >= expires_at:
        return "absolute"
    if now - last_seen_at >= timedelta(minutes=idle_minutes):
        return "idle"
    return None


def step_up_fresh(factor_checked_at: datetime | None, *, now: datetime, step_up_minutes: int) -> bool:
    if factor_checked_at is None:
        return False
    return timedelta(0) <= now - factor_checked_at < timedelta(minutes=step_up_minutes)
