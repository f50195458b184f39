"""The stateless proof-of-work challenge: signed, expiring, difficulty-bound; verified in constant time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from vault.crypto.keys import SubkeyPurpose
from vault.runtime import Vault
from vault.services.pow import PowRefused, issue_challenge, leading_zero_bits, solve, verify_solution

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_leading_zero_bits() -> None:
    assert leading_zero_bits(b"\x00\x00\x01") == 23
    assert leading_zero_bits(b"\x80") == 0
    assert leading_zero_bits(b"\x0f\xff") == 4


def test_the_default_difficulty_round_trips_and_every_tamper_fails(vault: Vault) -> None:
    key = vault.keys.subkey(SubkeyPurpose.SESSION)
    bits = vault.settings.intake_pow_bits  # the real default (16)
    challenge = issue_challenge(key, now=NOW, bits=bits, ttl=timedelta(minutes=30))
    counter = solve(challenge.token, bits)
    assert verify_solution(key, challenge.token, counter, now=NOW, min_bits=bits).digest == challenge.digest
    nonce_swapped = challenge.token.replace(challenge.token.split(".")[1], "A" * 24)
    easier = challenge.token.replace(f".{bits}.", ".1.")
    cases = [
        ("", counter, "missing"),
        (challenge.token, "", "missing"),
        (challenge.token, "12a", "invalid"),
        (nonce_swapped, counter, "invalid"),
        (easier, counter, "invalid"),
        (challenge.token + "0", counter, "invalid"),
    ]
    for token, count, reason in cases:
        with pytest.raises(PowRefused) as refused:
            verify_solution(key, token, count, now=NOW, min_bits=bits)
        assert refused.value.reason == reason
    with pytest.raises(PowRefused, match="expired"):
        verify_solution(key, challenge.token, counter, now=NOW + timedelta(minutes=31), min_bits=bits)
    other = vault.keys.subkey(SubkeyPurpose.BLIND_INDEX)
    with pytest.raises(PowRefused, match="invalid"):
        verify_solution(other, challenge.token, counter, now=NOW, min_bits=bits)
