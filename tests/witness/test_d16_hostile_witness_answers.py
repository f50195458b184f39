"""One misbehaving witness fails alone (D16: the log's publication and the privacy officer's proof
bundles must not depend on every witness behaving).

A witness — or whoever sits in its http:// connection — that answers 409 with a body of thousands of
digits used to end the whole round in a ``ValueError``: publication crashed, a proof bundle became a
500 and ``vault witness publish`` a traceback. Now such an answer is "no usable size" for that witness
only, and any failure nobody foresaw while asking one witness is a refusal of that witness only.

The witnesses here are real HTTP servers on loopback: honest ones run the witness code in-process,
the hostile one answers what the test tells it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from structlog.testing import capture_logs

from tests.foundation.test_cli import _env, run_cli
from tests.helpers import api_user
from tests.witness.helpers import append
from vault.app import create_app
from vault.audit.checkpoints import AuditSettings, CheckpointSigner, create_checkpoint
from vault.audit.cosignature import ALG_ED25519, parse_verifier_key
from vault.context import FrozenClock
from vault.domain import AuditTag, Role
from vault.models import AuditEntry
from vault.runtime import Vault
from vault.witness.client import WitnessEndpoint, WitnessResult, _result_of, publish_checkpoint
from vault.witness.keys import load_or_create_key
from vault.witness.service import KnownLog, Witness
from vault.witness.state import WitnessState

Respond = Callable[[bytes], tuple[int, str]]
NO_SIZE = "witness answered 409 without a usable size"


class LoopbackWitness:
    """A real HTTP server on 127.0.0.1 whose answer to ``POST /add-checkpoint`` comes from ``respond``."""

    def __init__(self, respond: Respond) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status, text = respond(body)
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/x.tlog.size" if status == 409 else "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve() -> Iterator[Callable[[Respond], LoopbackWitness]]:
    started: list[LoopbackWitness] = []

    def start(respond: Respond) -> LoopbackWitness:
        started.append(LoopbackWitness(respond))
        return started[-1]

    yield start
    for server in started:
        server.close()


def _honest(vault: Vault, directory: Path, name: str) -> Witness:
    known = KnownLog(
        AuditSettings().origin,
        parse_verifier_key(CheckpointSigner.for_vault(vault).verifier_key(), alg=ALG_ED25519),
    )
    return Witness(load_or_create_key(directory, name), WitnessState(directory), [known])


def _honest_endpoint(
    witness: Witness, serve: Callable[[Respond], LoopbackWitness], after: threading.Event | None = None
) -> WitnessEndpoint:
    """``after``: answer only once it is set (at most 5 s): the hostile witness has answered first, so
    its reason is its answer, not "still answering when the quorum was in" (a loaded machine)."""

    def respond(body: bytes) -> tuple[int, str]:
        if after is not None:
            after.wait(timeout=5)
            time.sleep(0.5)  # and its answer has reached the vault's client
        answer = witness.add_checkpoint(body)
        return answer.status, answer.body

    return WitnessEndpoint(parse_verifier_key(witness.key.verifier_key), serve(respond).url)


def _hostile_endpoint(
    tmp_path: Path,
    serve: Callable[[Respond], LoopbackWitness],
    body: str,
    answered: threading.Event | None = None,
) -> tuple[str, WitnessEndpoint]:
    vkey = load_or_create_key(tmp_path / "hostile", "hostile.example/witness").verifier_key

    def respond(_request: bytes) -> tuple[int, str]:
        if answered is not None:
            answered.set()
        return 409, body

    server = serve(respond)
    return f"{vkey} {server.url}", WitnessEndpoint(parse_verifier_key(vkey), server.url)


@pytest.mark.parametrize(
    "body",
    ["9" * 5000 + "\n", "1" * 21 + "\n", f"{2**64}\n", "-1\n", "\n"],
    ids=["5000-digits", "21-digits", "2**64", "negative", "empty"],
)
def test_d16_a_witness_answering_409_without_a_usable_size_fails_alone_and_the_quorum_publishes(
    vault: Vault, tmp_path: Path, serve: Callable[[Respond], LoopbackWitness], body: str
) -> None:
    honest = [_honest(vault, tmp_path / f"w{i}", f"w{i}.example/witness") for i in range(2)]
    answered = threading.Event()
    _, hostile = _hostile_endpoint(tmp_path, serve, body, answered)
    endpoints = [*(_honest_endpoint(w, serve, answered) for w in honest), hostile]
    append(vault, 5)
    info = create_checkpoint(vault)
    with capture_logs() as logs:
        result = publish_checkpoint(vault, info, witnesses=endpoints, quorum=2, timeout=5)
    assert result.published
    assert sorted(result.cosigned) == ["w0.example/witness", "w1.example/witness"]
    (bad,) = [r for r in result.results if r.name == "hostile.example/witness"]
    assert not bad.cosigned
    assert bad.reason == NO_SIZE
    missing = [e for e in logs if e["event"] == "audit_cosignature_missing"]
    assert [e["reason"] for e in missing] == [NO_SIZE]
    assert "99999" not in repr(logs)  # what the witness sent is not logged


def test_d16_the_largest_size_a_witness_can_name_is_still_read_as_a_size(
    vault: Vault, tmp_path: Path, serve: Callable[[Respond], LoopbackWitness]
) -> None:
    """2**64 - 1 (20 digits) is a size: a witness naming it holds a checkpoint the vault never signed
    (reported as a fork or cut, to be checked with the witness's operator), not one without a size."""
    _, hostile = _hostile_endpoint(tmp_path, serve, f"{2**64 - 1}\n")
    append(vault, 3)
    result = publish_checkpoint(vault, create_checkpoint(vault), witnesses=[hostile], quorum=1, timeout=5)
    (only,) = result.results
    assert not only.cosigned
    assert not only.ahead  # the vault never signed such a checkpoint: a fork or a cut, not a race
    assert only.reason == (
        f"witness holds checkpoint {2**64 - 1}, which the vault does not hold: the log was cut back or forked"
    )


def test_d16_a_witness_answering_409_with_5000_digits_does_not_turn_a_proof_bundle_into_a_500(
    vault: Vault,
    clock: FrozenClock,
    tmp_path: Path,
    serve: Callable[[Respond], LoopbackWitness],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    entry, _ = _hostile_endpoint(tmp_path, serve, "9" * 5000 + "\n")
    monkeypatch.setenv("VAULT_AUDIT_WITNESSES", entry)
    monkeypatch.setenv("VAULT_AUDIT_WITNESS_QUORUM", "1")
    monkeypatch.setenv("VAULT_AUDIT_WITNESS_TIMEOUT_SECONDS", "5")
    client = TestClient(create_app(vault), raise_server_exceptions=False)
    officer = api_user(client, vault, clock, Role.PRIVACY_OFFICER)
    append(vault, 3)
    response = client.get("/api/v1/audit/entries/2/bundle", headers=officer.headers)
    assert response.status_code == 200, (response.status_code, response.text[:200])
    with vault.db.session() as session:
        issued = session.scalars(
            select(AuditEntry).where(AuditEntry.tag == AuditTag.AUDIT_PROOF_ISSUED.value)
        ).all()
    assert [json.loads(e.details)["published"] for e in issued] == [
        False
    ]  # issued, and it says it is not cosigned


def test_d16_witness_publish_with_a_hostile_witness_names_it_and_exits_1_without_a_traceback(
    vault: Vault, tmp_path: Path, serve: Callable[[Respond], LoopbackWitness], database_url: str
) -> None:
    entry, _ = _hostile_endpoint(tmp_path, serve, "9" * 5000 + "\n")
    append(vault, 3)
    env = _env(vault.settings.resolved_home, database_url) | {
        "VAULT_AUDIT_WITNESSES": entry,
        "VAULT_AUDIT_WITNESS_QUORUM": "1",
        "VAULT_AUDIT_WITNESS_TIMEOUT_SECONDS": "5",
        "VAULT_AUDIT_CHECKPOINT_MINUTES": "0",
    }
    done = run_cli(["witness", "publish"], env)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert f"hostile.example/witness: missing — {NO_SIZE}" in done.stdout
    assert "has 0 of 1 cosignatures needed" in done.stderr


def test_d16_an_unforeseen_failure_while_asking_one_witness_is_its_refusal_named_by_type_only(
    tmp_path: Path,
) -> None:
    """The round's last line of defence (``ask`` turns every failure it foresees into a result): a
    real future that ended in an exception gives a refusal for that witness, and neither the result
    nor the log quotes the exception's message (it may hold what the witness sent)."""
    key = load_or_create_key(tmp_path / "w", "odd.example/witness").verifier_key
    endpoint = WitnessEndpoint(parse_verifier_key(key), "http://127.0.0.1:9")
    failed: Future[WitnessResult] = Future()
    failed.set_exception(RuntimeError("witness said: 31337-secret"))
    with capture_logs() as logs:
        result = _result_of(failed, endpoint)
    assert result == WitnessResult(
        "odd.example/witness", endpoint.key_id, False, "failed while asking it (RuntimeError)"
    )
    assert [e["event"] for e in logs] == ["audit_witness_ask_failed"]
    assert logs[0]["error"] == "RuntimeError"
    assert "31337" not in repr(logs)
