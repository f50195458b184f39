"""TOTP (RFC 6238): test vectors, the ±1 step window, replay refusal, sealed secrets."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pyotp
import pytest

from vault.auth import AuthConfig, CodeOutcome, check_code, open_secret, seal_secret
from vault.auth.totp import DIGITS, PERIOD, provisioning_uri, qr_svg, time_step
from vault.errors import Integrity

# RFC 6238 Appendix B, SHA-1 (seed "12345678901234567890"): (unix time, 8-digit TOTP)
RFC6238_SHA1 = [
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
    (20000000000, "65353130"),
]
SEED = base64.b32encode(b"12345678901234567890").decode()


@pytest.mark.parametrize(("unix_time", "expected"), RFC6238_SHA1)
def test_rfc6238_sha1_vectors_8_digits(unix_time: int, expected: str) -> None:
    assert pyotp.TOTP(SEED, digits=8, interval=30).at(unix_time) == expected


@pytest.mark.parametrize(("unix_time", "expected"), RFC6238_SHA1)
def test_rfc6238_sha1_vectors_with_the_vault_6_digit_config(unix_time: int, expected: str) -> None:
    # Truncation is value mod 10^digits: the 6-digit code is the last six digits of the 8-digit one.
    now = datetime.fromtimestamp(unix_time, UTC)
    assert (DIGITS, PERIOD) == (6, 30)
    check = check_code(SEED, expected[-6:], now=now, last_step=None)
    assert check.outcome is CodeOutcome.ACCEPTED
    assert check.step == unix_time // 30


def test_codes_of_the_neighbouring_steps_are_accepted_but_not_two_away() -> None:
    now = datetime(2026, 3, 2, 9, 0, 15, tzinfo=UTC)
    totp = pyotp.TOTP(SEED)
    for offset, accepted in ((-60, False), (-30, True), (0, True), (30, True), (60, False)):
        code = totp.at(int(now.timestamp()) + offset)
        outcome = check_code(SEED, code, now=now, last_step=None).outcome
        assert (outcome is CodeOutcome.ACCEPTED) is accepted, offset


def test_d17_code_of_the_last_accepted_step_or_earlier_is_a_replay() -> None:
    now = datetime(2026, 3, 2, 9, 0, 15, tzinfo=UTC)
    step = time_step(now)
    code = pyotp.TOTP(SEED).at(now)
    assert check_code(SEED, code, now=now, last_step=step).outcome is CodeOutcome.REPLAYED
    assert check_code(SEED, code, now=now, last_step=step + 1).outcome is CodeOutcome.REPLAYED
    assert check_code(SEED, code, now=now, last_step=step - 1).outcome is CodeOutcome.ACCEPTED


@pytest.mark.parametrize("bad", ["", "12345", "1234567", "abcdef", "１２３４５６", "12 34 5"])
def test_malformed_codes_are_invalid(bad: str) -> None:
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert check_code(SEED, bad, now=now, last_step=None).outcome is CodeOutcome.INVALID


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        time_step(datetime(2026, 3, 2, 9, 0))


def test_sealed_secret_is_bound_to_its_user(auth: AuthConfig) -> None:
    sealed = seal_secret(auth.totp_key, user_id="u1", secret=SEED)
    assert SEED.encode() not in sealed
    assert open_secret(auth.totp_key, user_id="u1", sealed=sealed) == SEED
    with pytest.raises(Integrity):
        open_secret(auth.totp_key, user_id="u2", sealed=sealed)


def test_enrolment_qr_is_an_svg_of_the_otpauth_uri() -> None:
    uri = provisioning_uri(SEED, "anna")
    assert uri.startswith("otpauth://totp/")
    assert "secret=" in uri
    svg = qr_svg(uri)
    assert svg.lstrip().startswith("<svg")
    assert "<script" not in svg
