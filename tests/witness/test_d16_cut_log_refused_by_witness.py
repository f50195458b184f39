"""A log cut back to an earlier checkpoint and written again, while a witness holds the larger history
(D16: the tamper-evident log is only worth what outsiders can hold the vault to).

The database owner (no signing key needed) drops the append-only triggers, removes the newest
checkpoints, their cosignatures and every entry after an earlier checkpoint, and lets the log grow
again. The witness still holds the larger checkpoint and refuses the new history. That refusal used
to be taken as harmless ("the witness is ahead", or "no consistency proof"): no problem in the witness
status, "audit log intact", a green integrity state. Now the witness's answer is kept: the witness
status names a ``fork_or_cut`` problem with the witness and the size it holds, and the integrity state
is ``broken`` until that witness cosigns a checkpoint at least that large again (which it does only
over a proof that the vault's log extends what it holds, e.g. after the database was restored).

A genuine race (the vault's own later checkpoint already at the witness) stays harmless: "ahead".

Real witness processes (``vault witness serve``) on loopback.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.helpers import drop_append_only
from tests.web.world import build_world, web_login
from tests.witness.conftest import WitnessProcess, log_entry
from tests.witness.helpers import append, checkpoint_after, post, request_body
from vault.app import create_app
from vault.audit.checkpoints import CheckpointInfo, create_checkpoint
from vault.audit.verification import IntegrityState, integrity_status, verify_log
from vault.context import FrozenClock
from vault.runtime import Vault
from vault.witness.client import publish_checkpoint, witness_status

Start = Callable[..., WitnessProcess]
TABLES = (("audit_cosignatures", "checkpoint_size"), ("audit_checkpoints", "size"), ("audit_entries", "seq"))


def _cut_back_to(vault: Vault, size: int) -> dict[str, list[dict[str, Any]]]:
    """The database owner removes every checkpoint above ``size``, its cosignatures and the entries;
    returns what was removed (the backup an operator restores later)."""
    removed: dict[str, list[dict[str, Any]]] = {}
    with vault.db.engine.begin() as conn:
        drop_append_only(conn, vault, *(table for table, _ in TABLES))
        for table, column in TABLES:
            where = f"FROM {table} WHERE {column} > :s"  # fixed names
            removed[table] = [dict(r._mapping) for r in conn.execute(text(f"SELECT * {where}"), {"s": size})]
            conn.execute(text(f"DELETE {where}"), {"s": size})
    return removed


def _restore(vault: Vault, size: int, removed: dict[str, list[dict[str, Any]]]) -> None:
    """The operator restores the log as it was: the other history after ``size`` goes, the removed
    rows come back."""
    _cut_back_to(vault, size)
    with vault.db.engine.begin() as conn:
        for table, _ in reversed(TABLES):
            for row in removed[table]:
                names = ", ".join(row)
                values = ", ".join(f":{name}" for name in row)
                conn.execute(text(f"INSERT INTO {table} ({names}) VALUES ({values})"), row)


def _witnessed_then_cut(
    vault: Vault, start_witness: Start, monkeypatch: pytest.MonkeyPatch, regrow: int
) -> tuple[WitnessProcess, CheckpointInfo, CheckpointInfo, dict[str, list[dict[str, Any]]]]:
    witness = start_witness("w0.example/witness", [log_entry(vault)])
    monkeypatch.setenv("VAULT_AUDIT_WITNESSES", witness.config_entry)
    monkeypatch.setenv("VAULT_AUDIT_WITNESS_QUORUM", "1")
    first = checkpoint_after(vault, 3)
    assert publish_checkpoint(vault, first).published
    later = checkpoint_after(vault, 5)  # entries the database owner wants gone
    assert publish_checkpoint(vault, later).published
    removed = _cut_back_to(vault, first.size)
    append(vault, regrow)  # another history after the cut
    return witness, first, later, removed


@pytest.mark.parametrize("regrow", [2, 12], ids=["below-witnessed-size", "past-witnessed-size"])
def test_d16_cut_and_rewritten_log_refused_by_the_witness_is_a_standing_problem(
    vault: Vault, start_witness: Start, monkeypatch: pytest.MonkeyPatch, regrow: int
) -> None:
    witness, _, later, _ = _witnessed_then_cut(vault, start_witness, monkeypatch, regrow)
    forked = create_checkpoint(vault)
    assert forked.size != later.size
    publication = publish_checkpoint(vault, forked)
    assert not publication.published  # the witness refuses the other history (it holds `later`)
    (result,) = publication.results
    assert not result.ahead  # not the periodic checkpointer getting there first
    assert f"holds checkpoint {later.size}" in (result.reason or "")

    status = witness_status(vault)
    (item,) = status["witnesses"]
    assert (item["problem_kind"], item["fork_size"]) == ("fork_or_cut", later.size)
    assert status["problems"] == [
        f"{witness.name}: holds checkpoint {later.size}, which the vault does not hold: "
        "the log was cut back or forked"
    ]
    report = verify_log(vault)
    assert not report.ok
    assert report.message() == (
        f"audit log broken: witness {witness.name} holds checkpoint {later.size}, which the vault does "
        "not hold: the log was cut back or forked"
    )
    cheap = integrity_status(vault)
    assert cheap.state is IntegrityState.BROKEN
    assert f"witness {witness.name} holds checkpoint {later.size}" in str(cheap.reason)

    # The next round (another checkpoint, another day) still shows it: the record is durable.
    append(vault, 1)
    assert not publish_checkpoint(vault, create_checkpoint(vault)).published
    assert integrity_status(vault).state is IntegrityState.BROKEN


def test_d16_the_fork_alert_clears_once_the_witness_cosigns_a_restored_log(
    vault: Vault, start_witness: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After the incident the operator restores the database (the removed rows come back, the other
    history goes): the vault again holds the checkpoint the witness holds, with that witness's own
    cosignature verifying over it — only then the problem is gone, and the witness cosigns again."""
    _, first, later, removed = _witnessed_then_cut(vault, start_witness, monkeypatch, 2)
    assert not publish_checkpoint(vault, create_checkpoint(vault)).published
    assert witness_status(vault)["problems"]
    append(vault, 1)  # cutting the other history again, without the witnessed rows, does not clear it
    _cut_back_to(vault, first.size)
    assert witness_status(vault)["problems"]
    assert integrity_status(vault).state is IntegrityState.BROKEN

    _restore(vault, first.size, removed)
    assert witness_status(vault)["problems"] == []
    after = checkpoint_after(vault, 2)
    assert after.size > later.size
    assert publish_checkpoint(vault, after).published
    assert witness_status(vault)["problems"] == []
    assert integrity_status(vault).ok


def test_d16_a_witness_holding_the_vaults_own_later_checkpoint_is_ahead_not_a_fork(
    vault: Vault, start_witness: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race with the periodic checkpointer: the witness cosigned the vault's own later checkpoint
    (its cosignature not yet stored here) and answers 409 with that size. Harmless."""
    witness = start_witness("w0.example/witness", [log_entry(vault)])
    monkeypatch.setenv("VAULT_AUDIT_WITNESSES", witness.config_entry)
    monkeypatch.setenv("VAULT_AUDIT_WITNESS_QUORUM", "1")
    first = checkpoint_after(vault, 3)
    later = checkpoint_after(vault, 4)
    assert post(witness.url, request_body(0, [], later.note))[0] == 200  # the other worker's round

    publication = publish_checkpoint(vault, first)
    (result,) = publication.results
    assert result.ahead
    assert result.reason == f"witness holds a larger checkpoint ({later.size})"
    assert witness_status(vault)["problems"] == []
    assert integrity_status(vault).ok


def test_d16_the_privacy_officers_pages_say_the_log_was_cut_and_name_the_witness(
    vault: Vault, start_witness: Start, monkeypatch: pytest.MonkeyPatch, clock: FrozenClock
) -> None:
    world = build_world(vault)  # the accounts first: the cut below is of the witnessed entries
    witness, _, later, _ = _witnessed_then_cut(vault, start_witness, monkeypatch, 2)
    assert not publish_checkpoint(vault, create_checkpoint(vault)).published
    web = TestClient(create_app(vault))
    web_login(web, world.officer, clock)
    page = web.get("/fg/integriteit").text
    assert "Het auditlog is ingekort of herschreven nadat de getuige het zag" in page
    item = page[page.index(f"<strong>{witness.name}</strong>") :].split("</li>")[0]
    assert f"controlepunt bij {later.size} vastleggingen medeondertekend dat de kluis niet meer heeft" in item
    assert "cut back or forked" not in page  # the English reason stays in the API
    overview = web.get("/fg").text
    assert "Niet in orde" in overview
    assert "In orde:" not in overview
