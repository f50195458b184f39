"""D10 (availability) and the public forms' flood stop: a sender at the hourly ceiling is answered 429
with ``Retry-After`` (whole seconds until one more submission would be admitted, computed from the
hour the counted submissions fall out of, nothing else), and the Dutch message names those minutes.
The sender is admitted again exactly when ``Retry-After`` said. The clock is the only test double."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.web.world import TEAM, World
from vault.app import create_app
from vault.config import Settings
from vault.context import FrozenClock
from vault.models import Case
from vault.runtime import Vault
from vault.services.pow import solve

CEILING = 4
HONEYPOT = {"uitdaging": "x", "teller": "0", "website": "bot", "zorgen": "spam"}


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        home=tmp_path / "home",
        database_url=database_url,
        password_hashing="fast_insecure_for_tests",
        cookie_secure=False,
        intake_team=TEAM,
        intake_pow_bits=8,
        intake_limit_per_hour=CEILING,
        intake_ceiling_per_hour=CEILING,
    )


@pytest.fixture
def client(vault: Vault, world: World) -> Iterator[TestClient]:
    with TestClient(create_app(vault)) as c:
        yield c


def _post(client: TestClient, fields: dict[str, str]) -> object:
    return client.post(
        "/advies/burger", data=fields, files={"bijlage": ("", b"", "application/octet-stream")}
    )


def _advice(client: TestClient) -> dict[str, str]:
    data = client.get("/formulier/uitdaging").json()
    token, bits = data["challenge"], data["bits"]
    return {"uitdaging": token, "teller": solve(token, bits), "website": "", "zorgen": "Ik twijfel."}


def _cases(vault: Vault) -> int:
    with vault.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(Case)) or 0)


def test_d10_the_ceiling_refusal_says_when_to_try_again(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    for _ in range(2):  # two counted attempts at 09:00 (cheap honeypot refusals count too)
        assert _post(client, HONEYPOT).status_code == 400  # type: ignore[attr-defined]
    clock.advance(minutes=20)
    for _ in range(CEILING - 2):  # the rest at 09:20: the ceiling is reached
        assert _post(client, HONEYPOT).status_code == 400  # type: ignore[attr-defined]
    clock.advance(minutes=5)
    before = _cases(vault)

    refused = _post(client, _advice(client))  # 09:25: the 09:00 ones leave the hour at 10:00
    assert refused.status_code == 429  # type: ignore[attr-defined]
    assert refused.json()["reason"] == "rate_limited"  # type: ignore[attr-defined]
    assert refused.headers["Retry-After"] == str(35 * 60)  # type: ignore[attr-defined]
    message = refused.json()["message"]  # type: ignore[attr-defined]
    assert "Probeer het over 35 minuten opnieuw." in message
    assert "0800-2000" in message
    assert refused.headers["Cache-Control"] == "no-store"  # type: ignore[attr-defined]

    clock.advance(seconds=35 * 60 - 1)  # one second before: still refused, one second to go
    last = _post(client, _advice(client))
    assert last.status_code == 429  # type: ignore[attr-defined]
    assert last.headers["Retry-After"] == "1"  # type: ignore[attr-defined]
    assert "Probeer het over 1 minuut opnieuw." in last.json()["message"]  # type: ignore[attr-defined]
    assert _cases(vault) == before  # nothing stored while refused

    clock.advance(seconds=1)  # exactly when Retry-After said
    admitted = _post(client, _advice(client))
    assert admitted.status_code == 201, admitted.text  # type: ignore[attr-defined]
    assert "Retry-After" not in admitted.headers  # type: ignore[attr-defined]
    assert _cases(vault) == before + 1


def test_d10_other_refusals_carry_no_retry_after(client: TestClient) -> None:
    honeypot = _post(client, HONEYPOT)
    assert honeypot.status_code == 400  # type: ignore[attr-defined]
    assert "Retry-After" not in honeypot.headers  # type: ignore[attr-defined]
