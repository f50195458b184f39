"""A school or GP practice behind one address is slowed, not turned away: beyond the free allowance
(VAULT_INTAKE_LIMIT_PER_HOUR) each submission needs a harder proof of work, capped; only a far higher
ceiling (VAULT_INTAKE_CEILING_PER_HOUR) refuses outright (issue 16, item 6). No browser needed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.web.world import TEAM, World
from vault.app import create_app
from vault.config import Settings
from vault.models import Case
from vault.runtime import Vault
from vault.services.intake import EXTRA_BITS_CAP, required_bits
from vault.services.pow import solve

BASE_BITS = 8
FREE = 5  # the real default allowance
CEILING = 14


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        home=tmp_path / "home",
        database_url=database_url,
        password_hashing="fast_insecure_for_tests",
        cookie_secure=False,
        intake_team=TEAM,
        intake_pow_bits=BASE_BITS,
        intake_limit_per_hour=FREE,
        intake_ceiling_per_hour=CEILING,
    )


@pytest.fixture
def client(vault: Vault, world: World) -> Iterator[TestClient]:
    with TestClient(create_app(vault)) as c:
        yield c


def _cases(vault: Vault) -> int:
    with vault.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(Case)) or 0)


def _challenge(client: TestClient) -> tuple[str, int]:
    data = client.get("/formulier/uitdaging").json()
    return data["challenge"], data["bits"]


def _send(client: TestClient, token: str, bits: int, **extra: str) -> object:
    fields = {"uitdaging": token, "teller": solve(token, bits), "website": "", "zorgen": "Zorgen op school."}
    fields.update(extra)
    return client.post(
        "/advies/burger", data=fields, files={"bijlage": ("", b"", "application/octet-stream")}
    )


def _five_accepted(client: TestClient) -> None:
    for _ in range(FREE):
        token, bits = _challenge(client)
        assert bits == BASE_BITS
        r = _send(client, token, bits)
        assert r.status_code == 201, r.text  # type: ignore[attr-defined]


def test_the_sixth_submission_from_one_address_is_accepted_with_a_harder_proof_of_work(
    client: TestClient, vault: Vault
) -> None:
    _five_accepted(client)
    token, bits = _challenge(client)
    assert bits == BASE_BITS + 1  # the page is handed the harder challenge up front
    assert f'data-bits="{BASE_BITS + 1}"' in client.get("/advies/burger").text
    r = _send(client, token, bits)
    assert r.status_code == 201, r.text  # type: ignore[attr-defined]
    assert r.json()["reference"].startswith("VT-")  # type: ignore[attr-defined]
    assert _cases(vault) == FREE + 1 + 1  # the world's own case, and all six


def test_the_sixth_submission_with_the_base_difficulty_is_refused_with_a_reason(
    client: TestClient, vault: Vault
) -> None:
    early, early_bits = _challenge(client)  # a page loaded before the others were sent
    _five_accepted(client)
    before = _cases(vault)
    r = _send(client, early, early_bits)
    assert r.status_code == 429  # type: ignore[attr-defined]
    body = r.json()  # type: ignore[attr-defined]
    assert body["reason"] == "pow_harder"
    assert "meer rekenwerk" in body["message"]
    assert "Verstuur het formulier nog eens" in body["message"]
    assert "0800-2000" in body["message"]
    assert _cases(vault) == before
    # The page's script fetches a fresh challenge, as hard as asked now, and is accepted.
    token, bits = _challenge(client)
    assert bits > BASE_BITS
    r = _send(client, token, bits)
    assert r.status_code == 201, r.text  # type: ignore[attr-defined]


def test_the_extra_difficulty_is_capped(vault: Vault) -> None:
    assert [required_bits(vault, n) for n in range(FREE + 3)] == [BASE_BITS] * FREE + [
        BASE_BITS + 1,
        BASE_BITS + 2,
        BASE_BITS + 3,
    ]
    assert required_bits(vault, 10_000) == BASE_BITS + EXTRA_BITS_CAP


def test_a_flood_from_one_address_meets_the_ceiling(client: TestClient, vault: Vault) -> None:
    for _ in range(CEILING):  # cheap refusals (honeypot) count too
        r = client.post(
            "/advies/burger",
            data={"uitdaging": "x", "teller": "0", "website": "bot", "zorgen": "spam"},
            files={"bijlage": ("", b"", "application/octet-stream")},
        )
        assert r.json()["reason"] in {"honeypot"}
    before = _cases(vault)
    token, bits = _challenge(client)
    assert bits == BASE_BITS + EXTRA_BITS_CAP
    r = _send(client, token, bits)
    assert r.status_code == 429  # type: ignore[attr-defined]
    assert r.json()["reason"] == "rate_limited"  # type: ignore[attr-defined]
    assert "te veel formulieren" in r.json()["message"]  # type: ignore[attr-defined]
    assert _cases(vault) == before
