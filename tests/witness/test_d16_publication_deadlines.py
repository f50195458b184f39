"""Publication that neither a slow witness nor the periodic checkpointer can spoil (D16: an access
report's proof bundle has to come out, and come out cosigned).

* ``VAULT_AUDIT_WITNESS_TIMEOUT_SECONDS`` bounds a whole request, not each socket operation: a witness
  that drips its answer a byte at a time holds neither publication nor a bundle request, and the
  vault stops waiting once the quorum is in.
* A bundle request that races the periodic checkpointer (the witnesses cosigned a larger checkpoint
  meanwhile, and cosign only forward) signs again and comes out cosigned.

Real witness processes on loopback; the slow witness is a real socket server on loopback.
"""

from __future__ import annotations

import importlib.util
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.helpers import api_user
from tests.witness.conftest import WitnessProcess, log_entry
from tests.witness.helpers import append
from vault.app import create_app
from vault.audit.checkpoints import CheckpointInfo, CheckpointSigner, create_checkpoint
from vault.audit.schedule import PeriodicCheckpointer
from vault.context import FrozenClock
from vault.domain import AuditTag, Role
from vault.models import AuditEntry
from vault.runtime import Vault
from vault.services import proof_bundles
from vault.witness.client import Publication, publish_checkpoint
from vault.witness.keys import load_or_create_key

Start = Callable[..., WitnessProcess]
TOOL = Path(__file__).resolve().parents[2] / "tools" / "verify_bundle.py"

TIMEOUT_S = 1.0
DRIPS = 40
DRIP_GAP_S = 0.5  # 20 s of dripping: what publication took before the timeout was a deadline


class DripWitness:
    """A real server on loopback that takes the request and then answers one byte every half second:
    in its body (``body``) or without ever finishing its headers (``headers``)."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.sent = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(30)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}"

    def _serve(self) -> None:
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(30)
            request = b""
            while b"\r\n\r\n" not in request:
                request += conn.recv(65536)
            head, _, body = request.partition(b"\r\n\r\n")
            lines = [line.lower() for line in head.split(b"\r\n")]
            length = next(int(line.split(b":")[1]) for line in lines if line.startswith(b"content-length"))
            while len(body) < length:
                body += conn.recv(65536)
            start = b"HTTP/1.1 200 OK\r\n"
            conn.sendall(start + (b"Content-Length: 100000\r\n\r\n" if self.where == "body" else b"X-Drip: "))
            for _ in range(DRIPS):
                time.sleep(DRIP_GAP_S)
                try:
                    conn.sendall(b"x")
                except OSError:
                    return  # the vault hung up
                self.sent += 1

    def close(self) -> None:
        self.listener.close()
        self.thread.join(timeout=DRIPS * DRIP_GAP_S + 5)


@pytest.fixture
def drip_witness() -> Iterator[Callable[[str], DripWitness]]:
    started: list[DripWitness] = []

    def start(where: str) -> DripWitness:
        started.append(DripWitness(where))
        return started[-1]

    yield start
    for witness in started:
        witness.close()


def _configure(monkeypatch: pytest.MonkeyPatch, entries: list[str], quorum: int) -> None:
    monkeypatch.setenv("VAULT_AUDIT_WITNESSES", "\n".join(entries))
    monkeypatch.setenv("VAULT_AUDIT_WITNESS_QUORUM", str(quorum))
    monkeypatch.setenv("VAULT_AUDIT_WITNESS_TIMEOUT_SECONDS", str(TIMEOUT_S))


@pytest.mark.parametrize("where", ["body", "headers"])
@pytest.mark.parametrize("quorum", [1, 2], ids=["quorum-without-it", "quorum-needs-it"])
def test_d16_slow_witness_is_cut_at_its_deadline(
    vault: Vault,
    start_witness: Start,
    drip_witness: Callable[[str], DripWitness],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    where: str,
    quorum: int,
) -> None:
    """A witness that drips its answer (in its body, or never ending its headers) does not hold
    publication: with the quorum in without it, publication is done; when the quorum needs it, the
    round fails at its deadline, naming it."""
    honest = start_witness("w0.example/witness", [log_entry(vault)])
    slow = drip_witness(where)
    slow_key = load_or_create_key(tmp_path / "slow", "slow.example/witness").verifier_key
    _configure(monkeypatch, [honest.config_entry, f"{slow_key} {slow.url}"], quorum)
    append(vault, 3)
    result = publish_checkpoint(vault, create_checkpoint(vault))
    assert result.cosigned == ["w0.example/witness"]
    assert result.published is (quorum == 1)
    if quorum == 2:
        assert result.missing == ["slow.example/witness"]
        (late,) = [r for r in result.results if not r.cosigned]
        assert late.reason is not None
        assert "within the timeout" in late.reason
    # The slow witness's connection is cut at its deadline, not left to drip on (no timing asserted:
    # the drip's own count shows publication did not wait it out).
    slow.close()
    assert slow.sent < DRIPS


def test_d16_proof_bundle_with_a_slow_witness_is_issued_without_waiting_for_it(
    vault: Vault,
    clock: FrozenClock,
    start_witness: Start,
    drip_witness: Callable[[str], DripWitness],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    honest = start_witness("w0.example/witness", [log_entry(vault)])
    slow = drip_witness("body")
    slow_key = load_or_create_key(tmp_path / "slow", "slow.example/witness").verifier_key
    _configure(monkeypatch, [honest.config_entry, f"{slow_key} {slow.url}"], 1)
    append(vault, 5)
    client = TestClient(create_app(vault))
    officer = api_user(client, vault, clock, Role.PRIVACY_OFFICER)
    response = client.get("/api/v1/audit/entries/3/bundle", headers=officer.headers)
    assert response.status_code == 200, response.text
    slow.close()
    assert slow.sent < DRIPS  # issued without waiting out the drip
    tool = _tool()
    log_key = tool.Key(CheckpointSigner.for_vault(vault).verifier_key(), 1)
    assert tool.verify_bundle(response.content, log_key, [tool.Key(honest.vkey, 4)], 1, None).startswith("OK")


# --- a bundle request racing the periodic checkpointer -------------------------------------------------


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("verify_bundle_for_deadlines", TOOL)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_d16_bundle_that_races_the_periodic_checkpointer_is_signed_again_and_cosigned(
    vault: Vault, clock: FrozenClock, start_witness: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    witnesses = [start_witness(f"w{i}.example/witness", [log_entry(vault)]) for i in range(2)]
    _configure(monkeypatch, [w.config_entry for w in witnesses], 2)
    monkeypatch.setenv("VAULT_AUDIT_WITNESS_TIMEOUT_SECONDS", "5")
    append(vault, 5)
    client = TestClient(create_app(vault))
    officer = api_user(client, vault, clock, Role.PRIVACY_OFFICER)
    real_publish = publish_checkpoint
    overtaken: list[int] = []

    def overtaken_once(v: Vault, info: CheckpointInfo, **kwargs: Any) -> Publication:
        # The interleaving of the race, forced: the bundle's checkpoint is signed, then — before it
        # asks the witnesses — others keep working and the server's thread signs and publishes a
        # larger checkpoint. The real publication follows.
        if not overtaken:
            append(v, 3)
            periodic = PeriodicCheckpointer(v, minutes=10).run_once()
            assert periodic is not None
            assert periodic.size > info.size
            overtaken.append(periodic.size)
        return real_publish(v, info, **kwargs)

    monkeypatch.setattr(proof_bundles, "publish_checkpoint", overtaken_once)
    response = client.get("/api/v1/audit/entries/3/bundle", headers=officer.headers)
    assert response.status_code == 200, response.text
    bundle = json.loads(response.content)
    tool = _tool()
    log_key = tool.Key(CheckpointSigner.for_vault(vault).verifier_key(), 1)
    keys = [tool.Key(w.vkey, 4) for w in witnesses]
    assert tool.verify_bundle(response.content, log_key, keys, 2, None).startswith("OK: 1 entries")
    assert bundle["checkpoint"].split("\n")[1] == str(overtaken[0])  # the checkpoint the witnesses hold
    with vault.db.session() as session:
        issued = session.scalars(
            select(AuditEntry).where(AuditEntry.tag == AuditTag.AUDIT_PROOF_ISSUED.value)
        ).one()
        assert json.loads(issued.details)["published"] is True
