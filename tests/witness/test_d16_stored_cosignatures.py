"""What the vault keeps of its witnesses' answers, checked again (D16: the log of every access is
only worth what outsiders can hold the vault to).

* A log rewritten and re-signed with the vault's own key still carries the cosignatures the witnesses
  gave over the old root: they no longer verify, and both ``vault audit verify`` and the integrity
  status say so instead of "intact" and "published".
* A cosignature spelled in non-canonical base64 is refused, never stored (the table is append-only:
  a stored line would make every bundle of its checkpoint fail the outside verifier).
* A witness that lost its record (409 with a size below the one it cosigned) is reported, not re-based.

Real witness processes (``vault witness serve``) on loopback; the non-canonical witness is a real
witness behind a real HTTP proxy on loopback that re-spells its answers.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType

import pytest
from fastapi.testclient import TestClient
from structlog.testing import capture_logs

from tests.helpers import api_user
from tests.witness.conftest import WitnessProcess, log_entry
from tests.witness.helpers import append, checkpoint_after, post, rewrite_and_resign
from vault.app import create_app
from vault.audit import queries
from vault.audit.checkpoints import AuditSettings, CheckpointSigner, create_checkpoint
from vault.audit.cosignature import (
    cosign,
    cosignature_verifies,
    cosigner_verifier_key,
    find_cosignature,
    parse_verifier_key,
)
from vault.audit.verification import integrity_status, verify_log
from vault.context import FrozenClock
from vault.crypto.signing import SigningKey
from vault.domain import Role
from vault.errors import Integrity
from vault.runtime import Vault
from vault.witness import store
from vault.witness.client import cosigned_note, publish_checkpoint, witness_status

Start = Callable[..., WitnessProcess]
TOOL = Path(__file__).resolve().parents[2] / "tools" / "verify_bundle.py"
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _configure(monkeypatch: pytest.MonkeyPatch, entries: list[str], quorum: int) -> None:
    monkeypatch.setenv("VAULT_AUDIT_WITNESSES", "\n".join(entries))
    monkeypatch.setenv("VAULT_AUDIT_WITNESS_QUORUM", str(quorum))
    monkeypatch.setenv("VAULT_AUDIT_WITNESS_TIMEOUT_SECONDS", "5")


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("verify_bundle_for_cosignatures", TOOL)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- a rewritten log, re-signed with the vault's own key -------------------------------------------


def test_d16_log_rewritten_and_resigned_after_it_was_witnessed_fails_verify_and_is_not_published(
    vault: Vault, start_witness: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    witnesses = [start_witness(f"w{i}.example/witness", [log_entry(vault)]) for i in range(2)]
    _configure(monkeypatch, [w.config_entry for w in witnesses], 2)
    info = checkpoint_after(vault, 8)
    assert publish_checkpoint(vault, info).published
    assert verify_log(vault).ok
    assert witness_status(vault)["published_size"] == info.size

    note = rewrite_and_resign(vault, 3, info.size)
    resigned = create_checkpoint(vault)  # the vault itself finds nothing wrong with the re-signed row
    assert (resigned.size, resigned.note) == (info.size, note)

    report = verify_log(vault)
    assert not report.ok
    assert report.bad_checkpoint == info.size
    message = report.message()
    assert f"checkpoint {info.size}" in message
    assert "w0.example/witness" in message
    assert "rewritten after it was witnessed" in message

    status = witness_status(vault)
    assert status["published"] is False
    assert status["published_size"] is None
    assert [w["cosigned"] for w in status["witnesses"]] == [False, False]
    assert status["missing_cosignatures"] == ["w0.example/witness", "w1.example/witness"]
    assert all("rewritten after it was witnessed" in w["problem"] for w in status["witnesses"])
    cheap = integrity_status(vault)
    assert not cheap.ok
    assert cheap.reason is not None
    assert "rewritten after it was witnessed" in cheap.reason

    # Publishing again does not count the stored rows either, and hands none of them out.
    with capture_logs() as logs:
        again = publish_checkpoint(vault, resigned)
    assert not again.published
    assert all("rewritten after it was witnessed" in (r.reason or "") for r in again.results)
    assert any(e["event"] == "audit_cosignature_broken" for e in logs)
    assert cosigned_note(vault, resigned) == resigned.note


def test_d16_stored_cosignatures_that_verify_keep_the_log_intact(
    vault: Vault, start_witness: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    witnesses = [start_witness(f"w{i}.example/witness", [log_entry(vault)]) for i in range(2)]
    _configure(monkeypatch, [w.config_entry for w in witnesses], 2)
    assert publish_checkpoint(vault, checkpoint_after(vault, 3)).published
    assert publish_checkpoint(vault, checkpoint_after(vault, 4)).published
    report = verify_log(vault)
    assert report.ok, report.message()
    assert integrity_status(vault).ok
    status = witness_status(vault)
    assert status["published"] is True
    assert status["problems"] == []


# --- a cosignature in non-canonical base64 -----------------------------------------------------------


def _respell(answer: str) -> str:
    """The same cosignature bytes in another base64 spelling: the character before ``==`` carries
    four unused low bits, and ``b64decode`` ignores them."""
    prefix, encoded = answer.rstrip("\n").rsplit(" ", 1)
    assert encoded.endswith("==")
    respelled = encoded[:-3] + _B64[_B64.index(encoded[-3]) | 1] + encoded[-2:]
    assert respelled != encoded
    assert base64.b64decode(respelled) == base64.b64decode(encoded)
    return f"{prefix} {respelled}\n"


@pytest.fixture
def respelling_proxy() -> Iterator[Callable[[str], str]]:
    """A real HTTP server on loopback in front of a witness that re-spells its cosignatures."""
    servers: list[ThreadingHTTPServer] = []

    def start(upstream: str) -> str:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status, content_type, answer = post(upstream, body)
                raw = (_respell(answer) if status == 200 else answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, format: str, *args: object) -> None:
                return

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_d16_find_cosignature_refuses_a_second_base64_spelling() -> None:
    key = SigningKey(hashlib.sha256(b"respelled witness").digest())
    vkey = parse_verifier_key(cosigner_verifier_key("w.example/witness", key.public_key_bytes()))
    body = "vault.example/audit\n3\n" + base64.b64encode(b"\x07" * 32).decode() + "\n"
    line = cosign(body, "w.example/witness", key, 1_700_000_000)
    assert find_cosignature([line], body, vkey) is not None
    with pytest.raises(Integrity, match="canonical base64"):
        find_cosignature([_respell(line)], body, vkey)
    assert not cosignature_verifies(_respell(line), body, vkey)


def test_d16_witness_answer_in_non_canonical_base64_is_refused_and_never_stored(
    vault: Vault,
    clock: FrozenClock,
    start_witness: Start,
    respelling_proxy: Callable[[str], str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    honest = start_witness("w0.example/witness", [log_entry(vault)])
    respelled = start_witness("w1.example/witness", [log_entry(vault)])
    proxy = respelling_proxy(respelled.url)
    _configure(monkeypatch, [honest.config_entry, f"{respelled.vkey} {proxy}"], 2)
    append(vault, 5)
    info = create_checkpoint(vault)
    with capture_logs() as logs:
        result = publish_checkpoint(vault, info)
    assert not result.published
    assert result.cosigned == ["w0.example/witness"]
    (refused,) = [r for r in result.results if r.name == "w1.example/witness"]
    assert refused.reason is not None
    assert "canonical base64" in refused.reason
    warnings = [e for e in logs if e["event"] == "audit_cosignature_missing"]
    assert [(e["witness"], e["size"]) for e in warnings] == [("w1.example/witness", info.size)]
    with queries.read_snapshot(vault.db) as conn:
        rows = store.cosignatures_at(conn, info.size)
    assert [r.witness_name for r in rows] == ["w0.example/witness"]

    # Every bundle of the checkpoint still passes the strict outside verifier on the honest witness.
    client = TestClient(create_app(vault))
    officer = api_user(client, vault, clock, Role.PRIVACY_OFFICER)
    bundle = client.get("/api/v1/audit/entries/3/bundle", headers=officer.headers)
    assert bundle.status_code == 200, bundle.text
    tool = _tool()
    log_key = tool.Key(CheckpointSigner.for_vault(vault).verifier_key(), 1)
    keys = [tool.Key(honest.vkey, 4), tool.Key(respelled.vkey, 4)]
    assert tool.verify_bundle(bundle.content, log_key, keys, 1, None).startswith("OK")


# --- a witness that lost its record ------------------------------------------------------------------


def test_d16_witness_that_lost_its_record_is_reported_and_not_rebased(
    vault: Vault, start_witness: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    witness = start_witness("w0.example/witness", [log_entry(vault)])
    _configure(monkeypatch, [witness.config_entry], 1)
    first = checkpoint_after(vault, 5)
    assert publish_checkpoint(vault, first).published

    witness.stop()  # its state file is lost (a new disk, an old backup); its key is kept
    (witness.directory / "state.json").unlink()
    witness.start()
    assert witness.config_entry in AuditSettings().witnesses  # same key, same address

    second = checkpoint_after(vault, 3)
    with capture_logs() as logs:
        result = publish_checkpoint(vault, second)
    assert not result.published
    (refused,) = result.results
    assert refused.reason is not None
    assert f"below the size {first.size}" in refused.reason
    lost = [e for e in logs if e["event"] == "audit_witness_record_lost"]
    assert len(lost) == 1
    assert lost[0]["log_level"] == "warning"
    assert (lost[0]["witness"], lost[0]["size"], lost[0]["cosigned"]) == ("w0.example/witness", 0, first.size)
    assert set(lost[0]) <= {"event", "log_level", "witness", "key_id", "size", "cosigned"}

    # Not re-based: the witness was never sent the log from 0, so it still holds nothing.
    origin_hash = hashlib.sha256(AuditSettings().origin.encode()).hexdigest()
    with pytest.raises(urllib.error.HTTPError) as held:
        urllib.request.urlopen(f"{witness.url}/{origin_hash}/checkpoint", timeout=10)  # noqa: S310
    assert held.value.code == 404

    status = witness_status(vault)
    (shown,) = status["witnesses"]
    assert shown["cosigned"] is False
    assert shown["last_cosigned_size"] == first.size
    assert "lost or rolled back" in shown["problem"]
    assert status["problems"] == [f"w0.example/witness: {shown['problem']}"]

    # Its operator brings the record back to the checkpoint it cosigned last (here by handing it that
    # checkpoint again): it follows the log from there, and the problem is gone.
    status_code, _, _ = post(witness.url, f"old 0\n\n{first.note}".encode())
    assert status_code == 200
    assert publish_checkpoint(vault, second).published
    assert witness_status(vault)["problems"] == []
