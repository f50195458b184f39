"""TOTP second factor (RFC 6238: HMAC-SHA1, 30-second steps, 6 digits) through pyotp.

Codes of the previous, current and next step are accepted (clock drift). The caller remembers the last
accepted step and passes it in: a code of that step or earlier is a replay, even if it is correct.
Secrets are sealed with AES-GCM under the TOTP subkey, bound to table, column and user id.
"""

from __future__ import annotations

import hmac
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

import pyotp
import segno

from vault.crypto.envelope import DataKey
from vault.crypto.fields import decrypt_text, encrypt_text
from vault.crypto.keys import SecretKey

__all__ = [
    "DIGITS",
    "ISSUER",
    "PERIOD",
    "CodeCheck",
    "CodeOutcome",
    "check_code",
    "new_secret",
    "open_secret",
    "provisioning_uri",
    "qr_svg",
    "seal_secret",
    "time_step",
]

PERIOD = 30
DIGITS = 6
VALID_WINDOW = 1
ISSUER = "Veilig Thuis kluis"
_TABLE = "totp_factors"
_COLUMN = "secret_sealed"


class CodeOutcome(StrEnum):
    ACCEPTED = "accepted"
    INVALID = "invalid"
    REPLAYED = "replayed"


@dataclass(frozen=True)
class CodeCheck:
    outcome: CodeOutcome
    step: int | None = None  # the matched time step (accepted or replayed)


def new_secret() -> str:
    """A fresh base32 secret of 160 bits (RFC 4226 recommends at least 128, SHA-1's block suggests 160)."""
    return pyotp.random_base32(32)


def time_step(when: datetime) -> int:
    if when.tzinfo is None:
        raise ValueError("aware UTC time required")
    return int(when.astimezone(UTC).timestamp()) // PERIOD


def _code_at_step(secret: str, step: int) -> str:
    return str(pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD).generate_otp(step))


def check_code(secret: str, code: str, *, now: datetime, last_step: int | None) -> CodeCheck:
    """Compare ``code`` with the codes of steps now-1, now, now+1 in constant time per step."""
    candidate = code.strip().replace(" ", "")
    if len(candidate) != DIGITS or not candidate.isascii() or not candidate.isdigit():
        return CodeCheck(CodeOutcome.INVALID)
    current = time_step(now)
    matched: int | None = None
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if hmac.compare_digest(_code_at_step(secret, step).encode(), candidate.encode()):
            matched = step
    if matched is None:
        return CodeCheck(CodeOutcome.INVALID)
    if last_step is not None and matched <= last_step:
        return CodeCheck(CodeOutcome.REPLAYED, matched)
    return CodeCheck(CodeOutcome.ACCEPTED, matched)


def provisioning_uri(secret: str, account_name: str) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD).provisioning_uri(
        name=account_name, issuer_name=ISSUER
    )


def qr_svg(uri: str) -> str:
    """The otpauth URI as an SVG QR code (no external references; safe to inline)."""
    out = io.BytesIO()
    segno.make(uri, error="m").save(out, kind="svg", scale=4, xmldecl=False, svgns=True)
    return out.getvalue().decode("utf-8")


def _field_key(key: SecretKey) -> DataKey:
    # The field format takes a DataKey; the TOTP subkey is the input key of its HKDF.
    return DataKey(key.reveal())


def seal_secret(key: SecretKey, *, user_id: str, secret: str) -> bytes:
    return encrypt_text(_field_key(key), table=_TABLE, column=_COLUMN, row_id=user_id, value=secret)


def open_secret(key: SecretKey, *, user_id: str, sealed: bytes) -> str:
    return decrypt_text(_field_key(key), table=_TABLE, column=_COLUMN, row_id=user_id, value=sealed)
