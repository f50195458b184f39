"""D16: a witness directory whose record cannot be read or written is one line, never a traceback.

docs/audit.md: "A ``--dir`` that cannot be created or read is one line, ``error: --dir: cannot use <dir>
(<reason>)``, exit 2". The key file kept that promise; the state file, the lock file and the record's
temporary file did not (a folder in their place after a botched restore, a state file restored with the
wrong owner, a read-only directory: ``IsADirectoryError`` / ``PermissionError`` tracebacks). A record that
cannot be written while serving is no cosignature (tlog-witness: persisted before it is returned): 503, the
record as it was, no temporary file left.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.foundation.test_cli import run_cli
from tests.witness.conftest import free_port
from tests.witness.helpers import request_body
from vault.audit.checkpoints import CheckpointSigner
from vault.audit.cosignature import parse_verifier_key
from vault.audit.merkle import EMPTY_ROOT
from vault.crypto.signing import SigningKey
from vault.errors import ConfigError
from vault.witness.keys import load_or_create_key
from vault.witness.service import KnownLog, Witness
from vault.witness.state import LOCK_FILE, STATE_FILE, WitnessState

ORIGIN = "o.example/audit"
LOG = CheckpointSigner(ORIGIN, SigningKey(b"\x44" * 32))
TEMP_FILE = f".{STATE_FILE}.tmp"


@pytest.mark.parametrize("blocked", [STATE_FILE, LOCK_FILE, TEMP_FILE])
def test_d16_witness_serve_with_a_dir_it_cannot_use_is_one_line_not_a_traceback(
    tmp_path: Path, blocked: str
) -> None:
    """A folder in the place of the state file, the lock file or the record's temporary file (the last
    one: the directory cannot take a new record, refused at start rather than at the first checkpoint)."""
    directory = tmp_path / "w"
    made = run_cli(["witness", "key", "--dir", str(directory), "--name", "fg.example/witness"], {})
    assert made.returncode == 0, made.stderr
    (directory / blocked).mkdir()
    (directory / blocked / "inside").write_text("x")
    done = run_cli(
        ["witness", "serve", "--dir", str(directory), "--port", str(free_port()), "--log", _log_option()],
        {},
        timeout=60,
    )
    assert done.returncode == 2, done.stderr[-1500:]
    assert "Traceback" not in done.stderr, done.stderr[-1500:]
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines == [f"error: --dir: cannot use {directory} (Is a directory)"]


@pytest.mark.parametrize("where", ["missing", "file"])
def test_d16_witness_state_in_a_folder_that_is_not_there_is_a_config_error(
    tmp_path: Path, where: str
) -> None:
    (tmp_path / "file").write_text("not a folder")
    directory = tmp_path / ("missing/w" if where == "missing" else "file/w")
    with pytest.raises(
        ConfigError, match=r"^--dir: cannot use .* \((No such file or directory|Not a directory)\)$"
    ):
        WitnessState(directory)


def _log_option() -> str:
    return f"{ORIGIN} {LOG.verifier_key()}"


def test_d16_a_record_the_witness_cannot_write_is_no_cosignature_and_leaves_nothing(tmp_path: Path) -> None:
    known = KnownLog(ORIGIN, parse_verifier_key(LOG.verifier_key()))
    witness = Witness(load_or_create_key(tmp_path, "fg.example/witness"), WitnessState(tmp_path), [known])
    try:
        first = LOG.sign(0, EMPTY_ROOT)
        # The disk refuses the record (here a folder where its temporary file goes).
        (tmp_path / TEMP_FILE).mkdir()
        (tmp_path / TEMP_FILE / "inside").write_text("x")
        answer = witness.add_checkpoint(request_body(0, [], first))
        assert answer.status == 503, answer
        assert "\u2014" not in answer.body  # no cosignature line
        assert not (tmp_path / STATE_FILE).exists()
        assert witness.state.get(ORIGIN) is None
        # Writable again: the same request is cosigned, and the record says so.
        (tmp_path / TEMP_FILE / "inside").unlink()
        (tmp_path / TEMP_FILE).rmdir()
        assert witness.add_checkpoint(request_body(0, [], first)).status == 200
        assert not (tmp_path / TEMP_FILE).exists()
        assert [r["size"] for r in json.loads((tmp_path / STATE_FILE).read_text())["logs"].values()] == [0]
    finally:
        witness.state.close()
