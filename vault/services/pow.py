"""A small proof of work for the public forms, computed by the page's own script (no outside CAPTCHA).

The server issues a *stateless* challenge: ``v1.<nonce>.<expires>.<bits>.<mac>`` where ``mac`` is a
keyed hash (HMAC-SHA256 under the SESSION subkey, label ``vault/intake/pow/v1``) of the first four
parts. The page finds a decimal ``counter`` such that ``SHA-256(challenge ‖ ":" ‖ counter)`` starts
with ``bits`` zero bits. The server checks the MAC (constant time), the expiry, the difficulty and
the hash; the caller then remembers the challenge until it expires so it works only once
(``vault.services.intake``). Nothing is stored when a challenge is issued.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from vault.auth.keyed import keyed_hash
from vault.crypto.keys import SecretKey

__all__ = [
    "Challenge",
    "PowRefused",
    "issue_challenge",
    "leading_zero_bits",
    "solve",
    "solved_challenge",
    "verify_solution",
]

_LABEL = b"vault/intake/pow/v1"
_VERSION = "v1"
_MAX_CHALLENGE = 200
_MAX_COUNTER_DIGITS = 12


class PowRefused(Exception):
    """The proof of work is missing, forged (``invalid``), expired, too easy for what is asked now
    (``too_easy``) or wrong (``reason`` is a code)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Challenge:
    token: str
    expires_at: datetime
    bits: int

    @property
    def digest(self) -> str:
        """What the replay store remembers: the challenge's hash, never the token itself."""
        return hashlib.sha256(self.token.encode("ascii")).hexdigest()


def issue_challenge(key: SecretKey, *, now: datetime, bits: int, ttl: timedelta) -> Challenge:
    if not 1 <= bits <= 32:
        raise ValueError("difficulty must be 1..32 bits")
    expires = int((now + ttl).timestamp())
    body = f"{_VERSION}.{secrets.token_urlsafe(18)}.{expires}.{bits}"
    token = f"{body}.{keyed_hash(key, _LABEL, body)}"
    return Challenge(token, datetime.fromtimestamp(expires, UTC), bits)


def leading_zero_bits(digest: bytes) -> int:
    count = 0
    for byte in digest:
        if byte == 0:
            count += 8
            continue
        return count + 8 - byte.bit_length()
    return count


def _work(token: str, counter: str) -> bytes:
    return hashlib.sha256(f"{token}:{counter}".encode("ascii")).digest()


def _signed(key: SecretKey, token: str, counter: str) -> Challenge:
    """The challenge when the token is one this server issued (its MAC) and the counter well formed;
    expiry, difficulty and the work are not checked here."""
    if not token or not counter:
        raise PowRefused("missing")
    if len(token) > _MAX_CHALLENGE or not token.isascii():
        raise PowRefused("invalid")
    if not counter.isdigit() or len(counter) > _MAX_COUNTER_DIGITS or not counter.isascii():
        raise PowRefused("invalid")
    parts = token.split(".")
    if len(parts) != 5 or parts[0] != _VERSION:
        raise PowRefused("invalid")
    body, mac = ".".join(parts[:4]), parts[4]
    if not hmac.compare_digest(keyed_hash(key, _LABEL, body).encode(), mac.encode()):
        raise PowRefused("invalid")
    return Challenge(token, datetime.fromtimestamp(int(parts[2]), UTC), int(parts[3]))


def verify_solution(key: SecretKey, token: str, counter: str, *, now: datetime, min_bits: int) -> Challenge:
    """The checked challenge, or ``PowRefused``. The caller must still reject a replay."""
    challenge = _signed(key, token, counter)
    if now >= challenge.expires_at:
        raise PowRefused("expired")
    if challenge.bits < min_bits:
        raise PowRefused("too_easy")  # genuine, but this address must now bring a harder proof
    if leading_zero_bits(_work(token, counter)) < challenge.bits:
        raise PowRefused("wrong")
    return challenge


def solved_challenge(key: SecretKey, token: str, counter: str) -> Challenge | None:
    """The challenge when this server issued it and the counter solves it, however old it is and however
    hard this address must prove now; else ``None``. The caller may only ask whether such a proof was
    used (a form sent again after its answer was lost), never admit it (``verify_solution`` does)."""
    try:
        challenge = _signed(key, token, counter)
    except PowRefused:
        return None
    return challenge if leading_zero_bits(_work(token, counter)) >= challenge.bits else None


def solve(token: str, bits: int, *, limit: int = 1 << 26) -> str:
    """The reference solver (tests and docs); the page's script does the same in JavaScript."""
    for counter in range(limit):
        if leading_zero_bits(_work(token, str(counter))) >= bits:
            return str(counter)
    raise ValueError("no solution within the limit")
