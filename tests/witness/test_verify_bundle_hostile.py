"""``tools/verify_bundle.py`` on hostile input: weak keys, witnesses that share a name, and files that
are not what they claim — each an ``OK``-free answer in one line, never a traceback."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.witness.conftest import WitnessProcess, log_entry
from tests.witness.helpers import append
from tests.witness.test_bundle import TOOL, _tool
from vault.audit.bundle import build_bundle, dump_bundle
from vault.audit.checkpoints import CheckpointSigner, create_checkpoint
from vault.crypto.signing import SigningKey, _is_weak_public_key
from vault.runtime import Vault
from vault.witness.client import cosigned_note, publish_checkpoint

Start = Callable[..., WitnessProcess]
ORIGIN = "vault.veiligthuis.local/audit"
LOG = CheckpointSigner(ORIGIN, SigningKey(b"\x22" * 32))

# The eight points of small order, and encodings of them that are not canonical (y >= p, or -0).
_P = 2**255 - 19
SMALL_ORDER = [
    (1).to_bytes(32, "little"),  # the identity
    (_P - 1).to_bytes(32, "little"),  # order 2
    bytes(32),  # order 4, x = ±sqrt(-1)
    bytes.fromhex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"),  # order 8
    bytes.fromhex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85"),
    bytes.fromhex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"),
    bytes.fromhex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa"),
    bytes(31) + b"\x80",
]
NON_CANONICAL = [
    (_P + 1).to_bytes(32, "little"),  # the identity again, y = p + 1
    ((1 << 255) | 1).to_bytes(32, "little"),  # x = 0 with the sign bit set
    (2**255 - 1).to_bytes(32, "little"),
]


def _vkey(name: str, alg: int, public: bytes) -> str:
    key_id = hashlib.sha256(name.encode() + b"\n" + bytes([alg]) + public).digest()[:4]
    return f"{name}+{key_id.hex()}+{base64.b64encode(bytes([alg]) + public).decode()}"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(TOOL), *args], capture_output=True, text=True, timeout=120)


def _failed_in_one_line(done: subprocess.CompletedProcess[str], code: int, words: str) -> None:
    assert done.returncode == code, done.stderr
    assert done.stdout == ""
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert "Traceback" not in done.stderr
    assert words in lines[-1], done.stderr
    if code == 1:
        assert len(lines) == 1
        assert lines[0].startswith("FAILED: ")


@pytest.mark.parametrize("public", SMALL_ORDER + NON_CANONICAL, ids=lambda b: b.hex()[:8] + b.hex()[-2:])
def test_d16_verifier_refuses_small_order_and_non_canonical_keys(public: bytes) -> None:
    tool = _tool()
    for name, alg in (("vault-audit", 1), ("fg.example/witness", 4)):
        with pytest.raises(ValueError, match="weak"):
            tool.Key(_vkey(name, alg, public), alg)


def test_d16_a_key_that_is_no_curve_point_is_taken_but_verifies_nothing() -> None:
    tool = _tool()
    public = bytes(range(1, 33))  # not the encoding of any point
    assert tool.key_fault(public) == "not a curve point"
    key = tool.Key(_vkey("inspectie.example/witness", 4, public), 4)
    assert not key.verify(b"message", SMALL_ORDER[0] + bytes(32))
    assert not key.verify(b"message", bytes(64))


@settings(max_examples=300, deadline=None)
@given(public=st.binary(min_size=32, max_size=32) | st.sampled_from(SMALL_ORDER + NON_CANONICAL))
def test_d16_the_verifiers_weak_key_check_agrees_with_the_vaults(public: bytes) -> None:
    assert _tool().is_weak_public_key(public) == _is_weak_public_key(public)


def _one_entry_export() -> tuple[list[dict[str, Any]], bytes]:
    """A one-entry export (hash computed as the verifier does) and its Merkle root."""
    tool = _tool()
    entry: dict[str, Any] = dict.fromkeys(tool.CANONICAL_FIELDS)
    entry.update(seq=1, tag="dossier:case:read", break_glass=False, details="{}", prev_hash="0" * 64)
    entry["entry_hash"] = tool.entry_hash(entry)
    return [entry], tool.leaf_hash(entry["entry_hash"])


def test_d16_a_signature_forged_for_an_identity_key_is_refused_for_the_log_and_for_a_witness(
    tmp_path: Path,
) -> None:
    entries, root = _one_entry_export()
    export = tmp_path / "export.json"
    export.write_text(json.dumps(entries))
    identity = SMALL_ORDER[0]
    forged_signature = identity + bytes(32)  # R = identity, S = 0: "verifies" under an identity key
    # A witness that signs nothing, with a cosignature made without any private key.
    weak_witness = _vkey("fake.example/witness", 4, identity)
    key_id = bytes.fromhex(weak_witness.split("+")[1])
    cosig = key_id + (1_700_000_000).to_bytes(8, "big") + forged_signature
    note = LOG.sign(1, root) + f"\u2014 fake.example/witness {base64.b64encode(cosig).decode()}\n"
    (tmp_path / "cp.txt").write_text(note)
    args = ["--export", str(export), "--checkpoint", str(tmp_path / "cp.txt")]
    _failed_in_one_line(_run(*args, "--log-key", LOG.verifier_key(), "--witness", weak_witness), 2, "weak")
    # A log "signed" by nobody.
    weak_log = _vkey("vault-audit", 1, identity)
    body = f"{ORIGIN}\n1\n{base64.b64encode(root).decode()}\n"
    log_id = bytes.fromhex(weak_log.split("+")[1])
    (tmp_path / "cp.txt").write_text(
        f"{body}\n\u2014 vault-audit {base64.b64encode(log_id + forged_signature).decode()}\n"
    )
    _failed_in_one_line(_run(*args, "--log-key", weak_log, "--quorum", "0"), 2, "weak")
    # The same export under the real log key does check out: only the weak keys were refused.
    (tmp_path / "cp.txt").write_text(LOG.sign(1, root))
    done = _run(*args, "--log-key", LOG.verifier_key())
    assert done.returncode == 0, done.stderr


def test_d16_two_independent_witnesses_that_share_a_name_are_counted_by_their_keys(
    vault: Vault, start_witness: Start, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Both kept the default cosigner name of ``vault witness key``.
    witnesses = [start_witness("witness", [log_entry(vault)]) for _ in range(2)]
    monkeypatch.setenv("VAULT_AUDIT_WITNESSES", "\n".join(w.config_entry for w in witnesses))
    monkeypatch.setenv("VAULT_AUDIT_WITNESS_QUORUM", "2")
    append(vault, 4)
    info = create_checkpoint(vault)
    assert publish_checkpoint(vault, info).published
    bundle = build_bundle(vault, info, cosigned_note(vault, info), [2], {"kind": "entry", "seq": 2})
    (tmp_path / "bundle.json").write_text(dump_bundle(bundle))
    log_key = CheckpointSigner.for_vault(vault).verifier_key()
    keys = ["--log-key", log_key, "--witness", witnesses[0].vkey, "--witness", witnesses[1].vkey]
    done = _run(str(tmp_path / "bundle.json"), *keys)
    assert done.returncode == 0, done.stderr
    ids = sorted(w.vkey.split("+")[1] for w in witnesses)
    assert done.stdout.endswith(f"cosigned by witness (key {ids[0]}), witness (key {ids[1]})\n")
    # Without the second witness's line, the verifier names the one missing, by its key.
    second = witnesses[1].vkey.split("+")[1]
    lines = bundle["checkpoint"].splitlines(keepends=True)
    bundle["checkpoint"] = "".join(
        line for line in lines if not line.startswith("\u2014 witness ") or _line_key_id(line) != second
    )
    (tmp_path / "bundle.json").write_text(dump_bundle(bundle))
    done = _run(str(tmp_path / "bundle.json"), *keys)
    _failed_in_one_line(
        done, 1, f"only 1 of 2 required witness cosignatures; missing: witness (key {second})"
    )
    # The same key given twice would count twice: a usage error that says so.
    done = _run(str(tmp_path / "bundle.json"), "--log-key", log_key, *["--witness", witnesses[0].vkey] * 2)
    _failed_in_one_line(done, 2, "is given twice (same name and key id)")


def _line_key_id(line: str) -> str:
    return base64.b64decode(line.split(" ")[2])[:4].hex()


def test_d16_files_that_are_not_what_they_claim_fail_in_one_line(tmp_path: Path) -> None:
    entries, root = _one_entry_export()
    (tmp_path / "export.json").write_text(json.dumps(entries))
    (tmp_path / "cp.txt").write_text(LOG.sign(1, root))
    log_key = ["--log-key", LOG.verifier_key()]
    (tmp_path / "latin1.txt").write_bytes(b"\xff\xfe not UTF-8\n")
    done = _run(
        "--export", str(tmp_path / "export.json"), "--checkpoint", str(tmp_path / "latin1.txt"), *log_key
    )
    _failed_in_one_line(done, 1, "checkpoint file is not UTF-8")

    deep = b"[" * 100_000 + b"]" * 100_000
    (tmp_path / "deep.json").write_bytes(deep)
    _failed_in_one_line(_run(str(tmp_path / "deep.json"), *log_key), 1, "bundle is nested too deeply")
    done = _run("--export", str(tmp_path / "deep.json"), "--checkpoint", str(tmp_path / "cp.txt"), *log_key)
    _failed_in_one_line(done, 1, "export is nested too deeply")
    # An entry whose details nest deeply: not a traceback either.
    nested = json.dumps(entries)[:-2] + ', "extra": ' + "[" * 50_000 + "]" * 50_000 + "}]"
    (tmp_path / "nested.json").write_text(nested)
    done = _run("--export", str(tmp_path / "nested.json"), "--checkpoint", str(tmp_path / "cp.txt"), *log_key)
    _failed_in_one_line(done, 1, "export is nested too deeply")
    # A canonical bundle whose checkpoint holds a lone surrogate (valid JSON, not valid text).
    bundle = {"checkpoint": "\ud800\n1\nAA==\n\n\u2014 x AAAA\n", "entries": [], "format": "x", "subject": {}}
    bundle["format"] = "vault-audit-proof-bundle/v1"
    (tmp_path / "surrogate.json").write_text(
        json.dumps(bundle, sort_keys=True, indent=1, ensure_ascii=True) + "\n"
    )
    _failed_in_one_line(_run(str(tmp_path / "surrogate.json"), *log_key), 1, "checkpoint")
