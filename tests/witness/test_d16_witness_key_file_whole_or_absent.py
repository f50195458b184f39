"""The witness's key file appears whole or not at all (D16: a witness that cannot start cosigns nothing).

It used to be created under its final name (``O_EXCL``) and then written: a full disk or a crash in
between left a half-written ``witness-key.json``, and every later start failed with "is not a witness
key file" until someone deleted it by hand. A process starting at the same moment could read it
half-written too. Now the key is written to a temporary file, made durable and linked to its name.

The full disk is real: the child process runs with a file-size limit (``RLIMIT_FSIZE``) smaller than
the key file, so its write fails with ``EFBIG`` half way, as it would with ``ENOSPC``.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import threading
from pathlib import Path

from vault.witness.keys import KEY_FILE, WitnessKey, load_or_create_key

NAME = "fg.example/witness"
VAULT = [sys.executable, "-m", "vault.cli.main"]


def _with_a_16_byte_file_limit() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failing write instead of a killed process
    resource.setrlimit(resource.RLIMIT_FSIZE, (16, 16))


def _witness_key_on_a_nearly_full_disk(directory: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VAULT_")}
    return subprocess.run(
        [*VAULT, "witness", "key", "--dir", str(directory), "--name", NAME],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_with_a_16_byte_file_limit,
    )


def test_d16_a_key_write_that_fails_half_way_leaves_no_key_file_and_the_next_start_makes_one(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "witness"
    failed = _witness_key_on_a_nearly_full_disk(directory)
    assert failed.returncode != 0
    assert failed.stderr.strip().splitlines() == [f"error: --dir: cannot use {directory} (File too large)"]
    assert not (directory / KEY_FILE).exists()  # no half-written key file
    assert sorted(p.name for p in directory.iterdir()) == []  # nor a temporary one left behind
    # Room again: the witness starts, with a fresh key (none was ever handed out).
    key = load_or_create_key(directory, NAME)
    assert key.verifier_key.startswith(f"{NAME}+")
    assert (directory / KEY_FILE).stat().st_mode & 0o777 == 0o600
    assert load_or_create_key(directory, NAME).verifier_key == key.verifier_key


def _start_at_once(directory: Path, processes: int) -> list[WitnessKey | Exception]:
    start = threading.Barrier(processes)
    keys: list[WitnessKey | Exception] = []

    def begin() -> None:
        start.wait()
        try:
            keys.append(load_or_create_key(directory, NAME))
        except Exception as exc:  # noqa: BLE001 - the test reports it
            keys.append(exc)

    threads = [threading.Thread(target=begin) for _ in range(processes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return keys


def test_d16_witnesses_starting_at_once_on_a_new_folder_all_use_the_one_key_that_was_made(
    tmp_path: Path,
) -> None:
    """Whoever links first wins; the others read the winner's file, never a half-written one."""
    for round_ in range(10):
        directory = tmp_path / f"witness-{round_}"
        keys = _start_at_once(directory, 8)
        assert all(isinstance(k, WitnessKey) for k in keys), keys
        assert len({k.verifier_key for k in keys if isinstance(k, WitnessKey)}) == 1
        assert sorted(p.name for p in directory.iterdir()) == [KEY_FILE]
