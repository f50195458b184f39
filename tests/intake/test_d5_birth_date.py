"""D5, D19: the public form's birth date is checked against the vault clock's Dutch date — the day the
report is received — not the machine's date, and is typed as the staff forms take it (``dd-mm-jjjj`` or
ISO), with a Dutch message naming the expected form (review finding I2). The clock is the suite's
frozen clock, so nothing here depends on the real date."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.web.world import World
from vault.app import create_app
from vault.context import FrozenClock
from vault.models import Case
from vault.runtime import Vault
from vault.services.pow import solve

_NO_FILE = {"bijlage": ("", b"", "application/octet-stream")}
FIELD = "betrokkene_geboortedatum"


@pytest.fixture
def public(vault: Vault, world: World) -> Iterator[TestClient]:
    with TestClient(create_app(vault)) as c:
        yield c


def _cases(vault: Vault) -> int:
    with vault.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(Case)) or 0)


def _report(client: TestClient, born: str) -> tuple[int, dict[str, object]]:
    data = client.get("/formulier/uitdaging").json()
    fields = {
        "uitdaging": data["challenge"],
        "teller": solve(data["challenge"], data["bits"]),
        "website": "",
        "zorgen": "Ik maak mij zorgen om het kind van de buren.",
        "naam": "Jan Jansen",
        "contact": "0612345678",
        "relatie": "buren",
        "betrokkene_rol": "kind",
        "betrokkene_naam": "Piet de Vries",
        FIELD: born,
    }
    r = client.post("/melden/burger", data=fields, files=_NO_FILE)
    return r.status_code, r.json()


def _refused_at_the_field(status: int, body: dict[str, object], words: str) -> None:
    assert status == 400, body
    assert FIELD in body["fields"]  # type: ignore[operator]
    problems = body["problems"]
    assert isinstance(problems, list)
    assert any(words in problem for problem in problems), problems


def test_d5_a_birth_date_after_the_received_date_is_refused(public: TestClient, vault: Vault) -> None:
    before = _cases(vault)
    _refused_at_the_field(*_report(public, "2026-06-01"), "ligt in de toekomst")
    _refused_at_the_field(*_report(public, "01-06-2026"), "ligt in de toekomst")
    assert _cases(vault) == before


def test_d5_the_received_date_is_the_vault_clocks_not_the_machines(
    public: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    """Years before the machine's date: only the vault clock can make a 2021 birth date "future"."""
    clock.set(datetime(2020, 6, 1, 12, 0, tzinfo=UTC))
    before = _cases(vault)
    _refused_at_the_field(*_report(public, "05-05-2021"), "ligt in de toekomst")
    assert _cases(vault) == before
    assert _report(public, "31-05-2020")[0] == 201


def test_d5_today_is_the_dutch_date_of_the_clock(
    public: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    """23:30 UTC on 2 March is 00:30 on 3 March in Amsterdam: a child born on 3 March is born today."""
    clock.set(datetime(2026, 3, 2, 23, 30, tzinfo=UTC))
    before = _cases(vault)
    assert _report(public, "03-03-2026")[0] == 201
    _refused_at_the_field(*_report(public, "04-03-2026"), "ligt in de toekomst")
    assert _cases(vault) == before + 1


@pytest.mark.parametrize("born", ["03-11-2015", "3-11-2015", "2015-11-03", "03/11/2015"])
def test_d19_the_public_form_takes_a_dutch_typed_birth_date(
    public: TestClient, vault: Vault, born: str
) -> None:
    before = _cases(vault)
    assert _report(public, born)[0] == 201
    assert _cases(vault) == before + 1


@pytest.mark.parametrize("born", ["31-02-2015", "2015-13-01", "gisteren", "03-11-15"])
def test_d19_a_birth_date_that_is_no_date_names_the_expected_form(
    public: TestClient, vault: Vault, born: str
) -> None:
    before = _cases(vault)
    _refused_at_the_field(*_report(public, born), "vul in als dd-mm-jjjj")
    assert _cases(vault) == before


def test_d19_a_birth_date_before_1900_is_refused(public: TestClient, vault: Vault) -> None:
    before = _cases(vault)
    _refused_at_the_field(*_report(public, "01-01-1899"), "controleer het jaar")
    assert _cases(vault) == before
