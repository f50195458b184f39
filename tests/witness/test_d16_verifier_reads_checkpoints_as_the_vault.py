"""D16: the outside verifier ``tools/verify_bundle.py`` reads a checkpoint as strictly as the vault and its
witnesses do (``vault.audit.note.parse_and_verify``, C2SP tlog-checkpoint): the tree size is a u64 (at most
2**64 - 1) and the note holds no control character but the newline. A checkpoint no witness could have
cosigned is no proof, and a CR or escape sequence in the origin could make a terminal show another log's
name in the ``OK`` line than the one that was checked. Whatever of the note the tool prints is escaped.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.witness.test_bundle import _tool
from tests.witness.test_verify_bundle_hostile import _failed_in_one_line, _one_entry_export, _run
from vault.audit.bundle import dump_bundle
from vault.audit.checkpoints import KEY_NAME, CheckpointSigner
from vault.audit.note import key_id, parse_and_verify
from vault.crypto.signing import SigningKey
from vault.errors import Integrity

ORIGIN = "vault.veiligthuis.local/audit"
LOG = CheckpointSigner(ORIGIN, SigningKey(b"\x33" * 32))
TOOL = _tool()
LOG_KEY = TOOL.Key(LOG.verifier_key(), 0x01)
_C1 = range(0x80, 0xA0)


def _signed(text: str) -> str:
    """``text`` signed by the log's key as a signed note, whatever it holds (``sign_note`` refuses what the
    vault would never sign: a hostile key holder is not bound by that)."""
    blob = key_id(KEY_NAME, LOG.public_key) + LOG.key.sign(text.encode())
    return f"{text}\n\u2014 {KEY_NAME} {base64.b64encode(blob).decode()}\n"


def _vault_accepts(note: str) -> bool:
    try:
        parse_and_verify(note, KEY_NAME, LOG.public_key)
    except Integrity:
        return False
    return True


def _tool_accepts(tool: ModuleType, note: str) -> bool:
    try:
        tool.check_note(note, LOG_KEY, [], 0)
    except tool.Failed:
        return False
    return True


def _bundle(note: str, entry: dict[str, Any], path: list[bytes]) -> bytes:
    bundle = {
        "format": TOOL.BUNDLE_FORMAT,
        "subject": {"kind": "entry", "seq": 1},
        "checkpoint": note,
        "entries": [
            {"entry": entry, "leaf_index": 0, "inclusion_proof": [base64.b64encode(p).decode() for p in path]}
        ],
    }
    return dump_bundle(bundle).encode()


def test_d16_verifier_refuses_a_checkpoint_whose_tree_size_overflows_u64() -> None:
    """A bundle with a valid inclusion proof into a signed tree of 2**65 leaves: 20 digits, so the digit
    count passes, but no u64 — the vault refuses it, so must the verifier (it answered ``OK``)."""
    (entry,), leaf = _one_entry_export()
    size = 2**65
    path = [hashlib.sha256(bytes([i])).digest() for i in range(65)]  # leaf 0: every sibling to its right
    root = leaf
    for sibling in path:
        root = TOOL.node_hash(root, sibling)
    assert TOOL.verify_inclusion(leaf, 0, size, path, root)
    note = _signed(f"{ORIGIN}\n{size}\n{base64.b64encode(root).decode()}\n")
    assert not _vault_accepts(note)
    with pytest.raises(TOOL.Failed, match="checkpoint size is malformed"):
        TOOL.verify_bundle(_bundle(note, entry, path), LOG_KEY, [], 0, ORIGIN)


@pytest.mark.parametrize(
    ("size", "accepted"), [(0, True), (2**64 - 1, True), (2**64, False), (2**65, False), (10**20 - 1, False)]
)
def test_d16_verifier_and_vault_agree_on_the_u64_bound_of_the_tree_size(size: int, accepted: bool) -> None:
    note = _signed(f"{ORIGIN}\n{size}\n{base64.b64encode(bytes(32)).decode()}\n")
    assert _vault_accepts(note) is accepted
    assert _tool_accepts(TOOL, note) is accepted


@pytest.mark.parametrize("control", ["\r", "\x1b", "\x00", "\t", "\x0b", "\x7f", "\x85", "\x9b"])
def test_d16_verifier_refuses_control_characters_in_the_checkpoint_and_never_echoes_them(
    tmp_path: Path, control: str
) -> None:
    """The reviewer's origin: ``evil.example/audit`` + CR + ``ESC[2K`` (erase the line) + the real origin —
    printed raw, a terminal showed ``OK: … in vault.veiligthuis.local/audit``. C0, DEL (refused by the
    vault and the witnesses too) and C1 (0x9b is a one-character escape on some terminals)."""
    (entry,), leaf = _one_entry_export()
    origin = f"evil.example/audit{control}[2K{ORIGIN}"
    note = _signed(f"{origin}\n1\n{base64.b64encode(leaf).decode()}\n")
    if ord(control) not in _C1:
        assert not _vault_accepts(note)
    (tmp_path / "bundle.json").write_bytes(_bundle(note, entry, []))
    done = _run(str(tmp_path / "bundle.json"), "--log-key", LOG.verifier_key())
    _failed_in_one_line(done, 1, f"control character (\\x{ord(control):02x} on line 1)")
    assert control not in done.stderr
    # The same in an export's checkpoint file, where the note is read as text.
    (tmp_path / "export.json").write_text(f"[{dump_bundle(entry).strip()}]")
    (tmp_path / "cp.txt").write_text(note, newline="")
    args = ["--export", str(tmp_path / "export.json"), "--checkpoint", str(tmp_path / "cp.txt")]
    done = _run(*args, "--log-key", LOG.verifier_key())
    _failed_in_one_line(done, 1, "control character")
    assert control not in done.stderr


def test_d16_what_the_verifier_prints_of_a_note_is_escaped(tmp_path: Path) -> None:
    """Characters a terminal does not show as themselves but that are no controls (a bidi override, a line
    separator) are accepted as the vault accepts them, and printed escaped — in the ``OK`` line and in an
    error naming a signer."""
    (entry,), leaf = _one_entry_export()
    origin = "log.example/\u202eaudit\u2028x"
    note = _signed(f"{origin}\n1\n{base64.b64encode(leaf).decode()}\n")
    assert _vault_accepts(note)
    (tmp_path / "bundle.json").write_bytes(_bundle(note, entry, []))
    done = _run(str(tmp_path / "bundle.json"), "--log-key", LOG.verifier_key())
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("OK: 1 entries proven in log.example/\\u202eaudit\\u2028x at size 1;")
    stranger = f"\u2014 evil\u202ename {base64.b64encode(b'abcd' + bytes(72)).decode()}\n"
    (tmp_path / "bundle.json").write_bytes(_bundle(note + stranger, entry, []))
    done = _run(str(tmp_path / "bundle.json"), "--log-key", LOG.verifier_key())
    _failed_in_one_line(done, 1, "signature by an unknown key (evil\\u202ename)")
    assert "\u202e" not in done.stderr


@settings(max_examples=300, deadline=None)
@given(origin=st.text(max_size=30).filter(lambda text: "\n" not in text))
@example(origin="evil.example/audit\r\x1b[2K" + ORIGIN)
@example(origin="a\\x1b")
def test_d16_verifier_accepts_an_origin_only_when_the_vault_does_and_prints_it_escaped(origin: str) -> None:
    """For any origin line: never more lenient than the vault; as strict, but for the C1 controls that
    only the verifier refuses; what it would print is printable, and the origin itself when it is."""
    note = _signed(f"{origin}\n7\n{base64.b64encode(bytes(32)).decode()}\n")
    tool_ok, vault_ok = _tool_accepts(TOOL, note), _vault_accepts(note)
    assert not tool_ok or vault_ok
    if not any(ord(ch) in _C1 for ch in origin):
        assert tool_ok == vault_ok
    shown = TOOL.shown(origin)
    assert shown.isprintable()
    if origin.isprintable() and "\\" not in origin:
        assert shown == origin
