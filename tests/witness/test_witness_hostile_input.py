"""The witness on hostile input: it serves only lines it checked, and its key command fails in one line."""

from __future__ import annotations

import base64
import hashlib
import json
import tempfile
import urllib.request
from collections.abc import Callable
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.foundation.test_cli import run_cli
from tests.witness.conftest import WitnessProcess, log_entry
from tests.witness.helpers import checkpoint_after, post, request_body
from vault.audit.checkpoints import CheckpointSigner
from vault.audit.cosignature import (
    cosigner_key_id,
    find_cosignature,
    parse_verifier_key,
    signature_lines,
)
from vault.audit.merkle import EMPTY_ROOT
from vault.audit.note import open_note
from vault.crypto.signing import SigningKey
from vault.runtime import Vault
from vault.witness.keys import load_or_create_key
from vault.witness.service import KnownLog, Witness
from vault.witness.state import STATE_FILE, WitnessState

Start = Callable[..., WitnessProcess]
WITNESS = "fg.example/witness"
ORIGIN = "vault.veiligthuis.local/audit"
LOG_SIGNER = CheckpointSigner(ORIGIN, SigningKey(b"\x11" * 32))


def _text(note: str) -> str:
    return note[: note.index("\n\n") + 1]


def _bogus_line(name: str, key_id: bytes) -> str:
    """A cosignature line with the right name and key id and a signature nobody made."""
    blob = key_id + (1_700_000_000).to_bytes(8, "big") + bytes(64)
    return f"\u2014 {name} {base64.b64encode(blob).decode()}\n"


def _served(witness: WitnessProcess, origin: str) -> str:
    origin_hash = hashlib.sha256(origin.encode()).hexdigest()
    with urllib.request.urlopen(f"{witness.url}/{origin_hash}/checkpoint", timeout=10) as r:  # noqa: S310
        return str(r.read().decode())


def _assert_every_line_checks_out(served: str, log_vkey: str, witness_vkey: str) -> None:
    """What a monitor does: the log's line verifies, and every line by the witness verifies."""
    log_key = parse_verifier_key(log_vkey)
    text = open_note(served, log_key.name, log_key.public_key)
    assert find_cosignature(signature_lines(served[len(text) + 1 :]), text, parse_verifier_key(witness_vkey))


def test_d16_witness_serves_only_the_log_line_and_its_own_not_lines_posted_with_the_checkpoint(
    vault: Vault, start_witness: Start
) -> None:
    witness = start_witness(WITNESS, [log_entry(vault)])
    own = parse_verifier_key(witness.vkey)
    cp = checkpoint_after(vault, 3)
    status, _, first = post(witness.url, request_body(0, [], cp.note))
    assert status == 200, first
    # Anyone may re-post the public checkpoint (same size, same root: cosigned again), here with a line
    # that claims to be the witness's own and one by a witness nobody knows.
    stranger = _bogus_line("stranger.example/witness", b"\x01\x02\x03\x04")
    status, _, again = post(
        witness.url, request_body(cp.size, [], cp.note + _bogus_line(own.name, own.key_id) + stranger)
    )
    assert status == 200, again
    served = _served(witness, ORIGIN)
    assert served == cp.note + again  # the checkpoint, the log's line, the witness's line: nothing else
    assert "stranger.example" not in served
    assert served.count(own.name) == 1
    _assert_every_line_checks_out(served, CheckpointSigner.for_vault(vault).verifier_key(), witness.vkey)


def _in_process_witness(directory: Path) -> Witness:
    known = KnownLog(ORIGIN, parse_verifier_key(LOG_SIGNER.verifier_key()))
    return Witness(load_or_create_key(directory, WITNESS), WitnessState(directory), [known])


def test_d16_a_record_kept_verbatim_by_an_older_witness_is_served_without_its_unchecked_lines(
    tmp_path: Path,
) -> None:
    witness = _in_process_witness(tmp_path)
    note = LOG_SIGNER.sign(0, EMPTY_ROOT)
    answer = witness.add_checkpoint(request_body(0, [], note))
    assert answer.status == 200, answer
    witness.state.close()
    # An older witness stored the posted note verbatim: write such a record into its real state file.
    state = json.loads((tmp_path / STATE_FILE).read_text())
    (record,) = state["logs"].values()
    key_id = cosigner_key_id(WITNESS, witness.key.key.public_key_bytes())
    record["note"] = note + _bogus_line(WITNESS, key_id) + _bogus_line("x.example/w", b"abcd") + answer.body
    (tmp_path / STATE_FILE).write_text(json.dumps(state))
    reopened = _in_process_witness(tmp_path)
    try:
        served = reopened.latest(hashlib.sha256(ORIGIN.encode()).hexdigest())
    finally:
        reopened.state.close()
    assert (served.status, served.body) == (200, note + answer.body)


_NAMES = st.sampled_from([WITNESS, "vault-audit", "other.example/witness"])
_LINES = st.lists(
    st.tuples(_NAMES, st.binary(max_size=80)).map(
        lambda p: f"\u2014 {p[0]} {base64.b64encode(p[1]).decode()}\n"
    ),
    max_size=4,
)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(extra=_LINES, bogus_own=st.booleans())
def test_d16_whatever_lines_come_with_a_checkpoint_every_served_line_verifies(
    extra: list[str], bogus_own: bool
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        witness = _in_process_witness(Path(folder))
        try:
            note = LOG_SIGNER.sign(0, EMPTY_ROOT)
            own_id = cosigner_key_id(WITNESS, witness.key.key.public_key_bytes())
            posted = note + (_bogus_line(WITNESS, own_id) if bogus_own else "") + "".join(extra)
            answer = witness.add_checkpoint(request_body(0, [], posted))
            served = witness.latest(hashlib.sha256(ORIGIN.encode()).hexdigest())
        finally:
            witness.state.close()
    if answer.status == 200:
        assert served.body == note + answer.body
        _assert_every_line_checks_out(served.body, LOG_SIGNER.verifier_key(), witness.key.verifier_key)
    else:
        assert answer.status == 403  # a line by the log's name that does not verify, or a malformed one
        assert served.status == 404


def test_d16_witness_key_in_a_folder_that_cannot_be_made_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    for folder in ("/proc/self/nope", str(tmp_path / "file" / "sub")):
        (tmp_path / "file").write_text("not a folder")
        done = run_cli(["witness", "key", "--dir", folder], {})
        assert done.returncode == 2, done.stderr
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, done.stderr
        assert lines[0].startswith("error: --dir: cannot use ")
        assert folder in lines[0]
        assert "Traceback" not in done.stderr
    assert not (tmp_path / "file").is_dir()
