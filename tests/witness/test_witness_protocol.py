"""The witness as its own process (C2SP tlog-witness): cosigns what extends its record, refuses the rest."""

from __future__ import annotations

import hashlib
import json
import stat
import urllib.request
from collections.abc import Callable

from tests.witness.conftest import WitnessProcess, log_entry
from tests.witness.helpers import checkpoint_after, post, request_body
from vault.audit.checkpoints import CheckpointSigner
from vault.audit.cosignature import find_cosignature, parse_verifier_key, signature_lines
from vault.audit.proofs import prove_consistency
from vault.crypto.signing import SigningKey
from vault.runtime import Vault

Start = Callable[..., WitnessProcess]


def _text(note: str) -> str:
    return note[: note.index("\n\n") + 1]


def _cosigned_by(witness: WitnessProcess, answer: str, note: str) -> int:
    found = find_cosignature(signature_lines(answer), _text(note), parse_verifier_key(witness.vkey))
    assert found is not None
    return found.timestamp


def test_witness_cosigns_the_first_checkpoint_and_one_that_extends_it(
    vault: Vault, start_witness: Start
) -> None:
    witness = start_witness("fg.example/witness", [log_entry(vault)])
    first = checkpoint_after(vault, 5)
    status, _, answer = post(witness.url, request_body(0, [], first.note))
    assert status == 200, answer
    assert _cosigned_by(witness, answer, first.note) > 0
    second = checkpoint_after(vault, 6)
    proof = prove_consistency(vault, first.size, second.size).path
    status, _, answer = post(witness.url, request_body(first.size, proof, second.note))
    assert status == 200, answer
    _cosigned_by(witness, answer, second.note)
    # Its own record, in its own directory: the key file is private, the state names the size.
    assert stat.S_IMODE((witness.directory / "witness-key.json").stat().st_mode) == 0o600
    state = json.loads((witness.directory / "state.json").read_text())
    assert [rec["size"] for rec in state["logs"].values()] == [second.size]
    # Monitors read the latest cosigned checkpoint by the SHA-256 of the origin.
    origin_hash = hashlib.sha256(second.note.split("\n", 1)[0].encode()).hexdigest()
    with urllib.request.urlopen(f"{witness.url}/{origin_hash}/checkpoint", timeout=10) as r:  # noqa: S310
        assert r.read().decode() == second.note + answer


def test_witness_refuses_a_fork_of_the_same_size_with_another_root(
    vault: Vault, start_witness: Start
) -> None:
    witness = start_witness("fg.example/witness", [log_entry(vault)])
    cp = checkpoint_after(vault, 4)
    assert post(witness.url, request_body(0, [], cp.note))[0] == 200
    fork = CheckpointSigner.for_vault(vault).sign(cp.size, hashlib.sha256(b"another history").digest())
    status, _, answer = post(witness.url, request_body(cp.size, [], fork))
    assert status == 422, answer
    # Claiming the witness has seen nothing yet does not help: it answers with its size.
    status, content_type, answer = post(witness.url, request_body(0, [], fork))
    assert (status, content_type, answer) == (409, "text/x.tlog.size", f"{cp.size}\n")


def test_witness_refuses_a_rollback_and_survives_a_restart(vault: Vault, start_witness: Start) -> None:
    witness = start_witness("fg.example/witness", [log_entry(vault)])
    small = checkpoint_after(vault, 3)
    large = checkpoint_after(vault, 5)
    assert post(witness.url, request_body(0, [], large.note))[0] == 200
    # An older (smaller) checkpoint: with the true old size it is malformed, with its own size a conflict.
    assert post(witness.url, request_body(large.size, [], small.note))[0] == 400
    witness.stop()
    witness.start()  # the record is on disk, not in memory
    status, content_type, answer = post(witness.url, request_body(small.size, [], small.note))
    assert (status, content_type, answer) == (409, "text/x.tlog.size", f"{large.size}\n")


def test_witness_answers_422_to_a_bad_consistency_proof(vault: Vault, start_witness: Start) -> None:
    witness = start_witness("fg.example/witness", [log_entry(vault)])
    first = checkpoint_after(vault, 5)
    assert post(witness.url, request_body(0, [], first.note))[0] == 200
    second = checkpoint_after(vault, 6)
    proof = prove_consistency(vault, first.size, second.size).path
    bad = [proof[0][:-1] + bytes([proof[0][-1] ^ 1]), *proof[1:]]
    assert post(witness.url, request_body(first.size, bad, second.note))[0] == 422
    assert post(witness.url, request_body(first.size, [], second.note))[0] == 422
    assert post(witness.url, request_body(0, proof, first.note))[0] == 409  # old 0 is not its size
    # A larger checkpoint of another history with a proof from the true root: 422, never cosigned.
    fork = CheckpointSigner.for_vault(vault).sign(second.size, hashlib.sha256(b"fork").digest())
    assert post(witness.url, request_body(first.size, proof, fork))[0] == 422
    assert post(witness.url, request_body(first.size, proof, second.note))[0] == 200


def test_witness_refuses_unknown_logs_bad_signatures_and_malformed_requests(
    vault: Vault, start_witness: Start
) -> None:
    witness = start_witness("fg.example/witness", [log_entry(vault)])
    cp = checkpoint_after(vault, 2)
    other = CheckpointSigner("other.example/audit", SigningKey(b"\x07" * 32)).sign(cp.size, b"\x00" * 32)
    assert post(witness.url, request_body(0, [], other))[0] == 404
    forged = CheckpointSigner(CheckpointSigner.for_vault(vault).origin, SigningKey(b"\x08" * 32))
    assert post(witness.url, request_body(0, [], forged.sign(cp.size, b"\x00" * 32)))[0] == 403
    assert post(witness.url, b"new 0\n\n" + cp.note.encode())[0] == 400
    assert post(witness.url, request_body(cp.size + 1, [], cp.note))[0] == 400
    assert post(witness.url, b"\xff" * 10)[0] == 400
