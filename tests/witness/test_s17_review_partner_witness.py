"""Session 17 review of the witness's own command line (W1–W3): what the operator types is refused in
one line, before anything is written or served.

``vault witness key`` and ``vault witness serve`` are run by another organisation from a shell script;
a name or origin taken from an unset or mis-encoded shell variable must give one line and a non-zero
exit, never a traceback, a key under a name nobody chose, or a witness that serves a 500.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.foundation.test_cli import run_cli
from tests.witness.conftest import free_port
from vault.audit.checkpoints import CheckpointSigner
from vault.audit.cosignature import parse_verifier_key
from vault.crypto.signing import SigningKey
from vault.errors import InvalidInput
from vault.witness.app import create_witness_app
from vault.witness.keys import KEY_FILE
from vault.witness.service import KnownLog, parse_log_option

ORIGIN = "o.example/audit"
LOG = CheckpointSigner(ORIGIN, SigningKey(b"\x57" * 32))
NOT_UTF8 = "fg\udcffexample"  # the bytes fg\xffexample on the command line (os.fsencode)


def _one_line_refusal(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode != 0, done.stderr[-1500:]
    assert "Traceback" not in done.stderr, done.stderr[-1500:]
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr[-1500:]
    assert lines[0].startswith("error: "), done.stderr[-1500:]
    return lines[0]


def test_d16_w1_a_witness_name_that_is_not_utf8_is_one_line_and_writes_nothing(tmp_path: Path) -> None:
    directory = tmp_path / "w"
    done = run_cli(["witness", "key", "--dir", str(directory), "--name", NOT_UTF8], {})
    _one_line_refusal(done)
    assert not (directory / KEY_FILE).exists()


def test_d16_w1_a_log_key_name_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    name, _, rest = LOG.verifier_key().partition("+")
    entry = f"{ORIGIN} {name}\udcff+{rest}"
    done = run_cli(
        ["witness", "serve", "--dir", str(tmp_path / "w"), "--port", str(free_port()), "--log", entry],
        {},
        timeout=60,
    )
    _one_line_refusal(done)


@pytest.mark.parametrize("name", ["", " ", "fg example/witness"])
def test_d16_w2_an_empty_or_invalid_witness_name_leaves_no_key_and_no_folder(
    tmp_path: Path, name: str
) -> None:
    """``--name "$WITNESS_NAME"`` with the variable unset: before, a key named "witness" was written and
    the command then failed, so the rerun with the intended name was refused until someone removed it."""
    directory = tmp_path / "w"
    done = run_cli(["witness", "key", "--dir", str(directory), "--name", name], {})
    _one_line_refusal(done)
    assert not directory.exists()
    again = run_cli(["witness", "key", "--dir", str(directory), "--name", "fg.example/witness"], {})
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("fg.example/witness+")


@pytest.mark.parametrize(
    "origin",
    ["o.example/\x1b[2Kaudit", "o.example/\u0085audit", "o.example/\udcffaudit", "o.example/\u202eaudit"],
)
def test_d16_w3_a_log_origin_no_checkpoint_can_carry_is_refused(origin: str) -> None:
    """The origin is the first line of every checkpoint the witness is to cosign: one with a control or
    direction character (or not UTF-8) can never match a checkpoint's, and the witness would serve
    nothing but 404s — with bytes that are not UTF-8, a 500 on its monitoring read."""
    with pytest.raises(InvalidInput):
        parse_log_option(f"{origin} {LOG.verifier_key()}")


def test_d16_w3_serve_refuses_such_an_origin_in_one_line_before_serving(tmp_path: Path) -> None:
    entry = f"o.example/\udcffaudit {LOG.verifier_key()}"
    try:
        done = run_cli(
            ["witness", "serve", "--dir", str(tmp_path / "w"), "--port", str(free_port()), "--log", entry],
            {},
            timeout=20,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("the witness started serving an origin no checkpoint can carry")
    _one_line_refusal(done)


def test_d16_w3_a_witness_never_answers_its_monitoring_read_with_a_500(tmp_path: Path) -> None:
    """A log configured with an origin that is not UTF-8 (built without ``parse_log_option``): before, every
    GET /<hash>/checkpoint was a 500 (hashing that origin raised). Now the witness refuses it at start."""
    key = parse_verifier_key(LOG.verifier_key())
    logs = [KnownLog("o.example/\udcffaudit", key), KnownLog(ORIGIN, key)]
    try:
        app = create_witness_app(tmp_path / "w", logs, name="fg.example/witness")
    except InvalidInput:
        return  # refused at start, nothing served
    with TestClient(app, raise_server_exceptions=False) as client:
        for path in ("/" + hashlib.sha256(ORIGIN.encode()).hexdigest(), "/x", "/" + "0" * 64):
            assert client.get(path + "/checkpoint").status_code == 404
