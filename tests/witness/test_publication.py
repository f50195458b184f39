"""The vault asks its witnesses after a checkpoint; published only with the quorum (integrity status)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.helpers import api_user
from tests.web.world import build_world, web_login
from tests.witness.conftest import WitnessProcess, log_entry
from tests.witness.helpers import append, checkpoint_after
from vault.app import create_app
from vault.audit.schedule import PeriodicCheckpointer
from vault.context import FrozenClock
from vault.domain import Role
from vault.runtime import Vault
from vault.witness.client import cosigned_note, publish_checkpoint, witness_status

Start = Callable[..., WitnessProcess]


def _configure(monkeypatch: pytest.MonkeyPatch, witnesses: list[WitnessProcess], quorum: int) -> None:
    monkeypatch.setenv("VAULT_AUDIT_WITNESSES", ",".join(w.config_entry for w in witnesses))
    monkeypatch.setenv("VAULT_AUDIT_WITNESS_QUORUM", str(quorum))
    monkeypatch.setenv("VAULT_AUDIT_WITNESS_TIMEOUT_SECONDS", "5")


def test_checkpoint_is_published_once_the_witnesses_cosign_and_they_follow_the_log(
    vault: Vault, start_witness: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    witnesses = [start_witness(f"w{i}.example/witness", [log_entry(vault)]) for i in range(2)]
    _configure(monkeypatch, witnesses, 2)
    first = checkpoint_after(vault, 3)
    result = publish_checkpoint(vault, first)
    assert result.published, result.results
    # The next checkpoint goes with a consistency proof from the size each witness cosigned last.
    append(vault, 4)
    info = PeriodicCheckpointer(vault, minutes=10).run_once()  # the server's path: sign, then ask
    assert info is not None
    status = witness_status(vault)
    assert status["published"] is True
    assert status["missing_cosignatures"] == []
    assert [w["last_cosigned_size"] for w in status["witnesses"]] == [info.size, info.size]
    note = cosigned_note(vault, info)
    assert note.count("\n— ") == 3  # the log's signature and two cosignatures
    # The stored cosignatures are append-only.
    with pytest.raises(Exception, match="append-only"), vault.db.session() as session:
        session.execute(text("DELETE FROM audit_cosignatures"))


def test_quorum_of_two_with_one_witness_down_is_not_published_and_names_the_missing_one(
    vault: Vault, clock: FrozenClock, start_witness: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    up = start_witness("fg.example/witness", [log_entry(vault)])
    down = start_witness("gemeente.example/witness", [log_entry(vault)])
    down.stop()
    _configure(monkeypatch, [up, down], 2)
    result = publish_checkpoint(vault, checkpoint_after(vault, 3))
    assert not result.published
    assert result.cosigned == ["fg.example/witness"]
    assert result.missing == ["gemeente.example/witness"]

    client = TestClient(create_app(vault))
    officer = api_user(client, vault, clock, Role.PRIVACY_OFFICER)
    body = client.get("/api/v1/audit/integrity", headers=officer.headers).json()
    assert body["witnesses"]["published"] is False
    assert body["witnesses"]["quorum"] == 2
    assert body["witnesses"]["missing_cosignatures"] == ["gemeente.example/witness"]
    cosigned = {w["name"]: w["cosigned"] for w in body["witnesses"]["witnesses"]}
    assert cosigned == {"fg.example/witness": True, "gemeente.example/witness": False}

    # The privacy officer's integrity page says so, and names the missing witness.
    people = build_world(vault)
    web = TestClient(client.app)
    web_login(web, people.officer, clock)
    page = web.get("/fg/integriteit")
    assert page.status_code == 200
    assert "niet gepubliceerd" in page.text
    assert "Ontbreekt: gemeente.example/witness" in page.text
