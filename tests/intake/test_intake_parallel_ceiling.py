"""The public forms' per-address flood ceiling and rising difficulty hold for parallel submissions.

Each attempt's count and the row it adds are one step per address (``ratelimit.take_turn_on``: a
transaction-scoped advisory lock on PostgreSQL; SQLite's transactions already take turns), so
submissions sent at once from one address cannot all read the same count and all pass. The race
shows on PostgreSQL; on SQLite the test holds as well.
"""

from __future__ import annotations

import threading

import pytest

from tests.web.world import World
from vault.config import Settings
from vault.runtime import Vault
from vault.services.intake import IntakeRefused, admit, new_challenge
from vault.services.pow import solve

ADDRESS = "203.0.113.7"
PARALLEL = 24


def _admit_in_parallel(vault: Vault, proofs: list[tuple[str, str]]) -> tuple[int, list[str]]:
    """Send every proof at the same moment from one address; (admitted, refusal reasons)."""
    barrier = threading.Barrier(len(proofs))
    admitted: list[int] = []
    refused: list[str] = []
    errors: list[BaseException] = []

    def one(token: str, counter: str) -> None:
        barrier.wait()
        try:
            admit(vault, client_address=ADDRESS, token=token, counter=counter, honeypot="")
            admitted.append(1)
        except IntakeRefused as refusal:
            refused.append(refusal.reason)
        except BaseException as exc:  # noqa: BLE001 — reported below
            errors.append(exc)

    threads = [threading.Thread(target=one, args=proof) for proof in proofs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return len(admitted), refused


def _proofs(vault: Vault, n: int) -> list[tuple[str, str]]:
    proofs = []
    for _ in range(n):
        issued = new_challenge(vault, ADDRESS)
        proofs.append((issued.token, solve(issued.token, issued.bits)))
    return proofs


class TestCeiling:
    CEILING = 5

    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return settings.model_copy(
            update={"intake_ceiling_per_hour": self.CEILING, "intake_limit_per_hour": 1000}
        )

    def test_parallel_submissions_from_one_address_stop_at_the_ceiling(
        self, vault: Vault, world: World
    ) -> None:
        admitted, refused = _admit_in_parallel(vault, _proofs(vault, PARALLEL))
        assert admitted == self.CEILING, (admitted, sorted(set(refused)))
        assert refused == ["rate_limited"] * (PARALLEL - self.CEILING)


class TestDifficulty:
    ALLOWANCE = 3

    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return settings.model_copy(
            update={"intake_limit_per_hour": self.ALLOWANCE, "intake_ceiling_per_hour": 1000}
        )

    def test_parallel_submissions_at_the_base_difficulty_pass_only_within_the_free_allowance(
        self, vault: Vault, world: World
    ) -> None:
        """Proofs fetched before any of them was sent all carry the base difficulty: only the free
        allowance passes, every later one must come back with a harder proof (``pow_harder``)."""
        admitted, refused = _admit_in_parallel(vault, _proofs(vault, PARALLEL))
        assert admitted == self.ALLOWANCE, (admitted, sorted(set(refused)))
        assert refused == ["pow_harder"] * (PARALLEL - self.ALLOWANCE)
