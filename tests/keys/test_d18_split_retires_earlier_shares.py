"""K15 (D18): `vault keys split` with the file provider replaces the root key. Before, it printed
SLIP-39 shares of the *same* root key every time, so the shares of an earlier split (two former holders
of a 2-of-3 set) kept opening the live key file, every KEK, for ever.

Now the key file's KEKs are sealed under a fresh root key, which replaces the old one in the root key
file (`FileKeyProvider.replace_root`: three renames, each durable before the next), and only then are
the new shares printed. A split that cannot write a file changes nothing (one line, non-zero exit), and
an interrupted one leaves a key file the root key file on disk and the earlier shares still open. A
server running beside the split reads the root key file again. Copies of the key file made before the
split still open with the earlier shares (expected; the docs say so).

Failures here are real ones: a directory nothing can be written into (immutable for root, who ignores
permission bits). An interruption is the state a killed run leaves, written with the module's own steps.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.helpers import ctx_for, make_team, make_user, new_case, upload
from vault.config import Settings
from vault.context import Context, FrozenClock
from vault.crypto import filekeys
from vault.crypto.filekeys import FileKeyProvider, read_root_key
from vault.crypto.keys import KEY_SIZE, SecretKey
from vault.crypto.recovery import recover_root
from vault.domain import AuditTag, Role
from vault.errors import ConfigError
from vault.models import AuditEntry
from vault.runtime import Vault, open_vault
from vault.services import key_recovery, keyring
from vault.services.documents import read_document
from vault.services.setup import initialise

VAULT = [sys.executable, "-m", "vault.cli.main"]


def _opens(key_file: Path, root: SecretKey) -> bool:
    try:
        FileKeyProvider.open(key_file, root).close()
    except ConfigError:
        return False
    return True


def _apart(settings: Settings, tmp_path: Path) -> Settings:
    """The key file and the root key file each in a directory of its own (as production keeps them)."""
    (tmp_path / "keys").mkdir()
    (tmp_path / "root").mkdir()
    return settings.model_copy(
        update={"key_file": tmp_path / "keys" / "keys.json", "root_key_file": tmp_path / "root" / "root.key"}
    )


def _env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VAULT_")}
    env["VAULT_HOME"] = str(settings.home)
    env["VAULT_DATABASE_URL"] = settings.url.render_as_string(hide_password=False)
    env["VAULT_KEY_FILE"] = str(settings.resolved_key_file)
    env["VAULT_ROOT_KEY_FILE"] = str(settings.resolved_root_key_file)
    env["VAULT_PASSWORD_HASHING"] = "fast_insecure_for_tests"
    return env


def _cli(settings: Settings, *args: str, input: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*VAULT, *args],
        env=_env(settings),
        input=input,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _shares(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if len(line.split()) >= 20]


def _splits(settings: Settings, clock: FrozenClock) -> int:
    vault = open_vault(settings, clock=clock)
    try:
        with vault.db.session() as session:
            stmt = select(func.count()).where(AuditEntry.tag == AuditTag.SYSTEM_KEYS_SPLIT.value)
            return int(session.scalar(stmt) or 0)
    finally:
        vault.close()


@contextmanager
def _unwritable(folder: Path) -> Iterator[None]:
    """Nothing can be created in or renamed into ``folder``: 0500, or immutable for root."""
    if os.geteuid() != 0:
        folder.chmod(0o500)
        try:
            yield
        finally:
            folder.chmod(0o700)
        return
    chattr = shutil.which("chattr")
    made = chattr and subprocess.run([chattr, "+i", str(folder)], capture_output=True, check=False)
    if not made or made.returncode != 0:
        sys.stderr.write("\n!!! SKIPPED: cannot make a directory immutable here (chattr +i) !!!\n")
        pytest.skip("!!! running as root and `chattr +i` is not available: no unwritable directory !!!")
    assert chattr is not None
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", str(folder)], capture_output=True, check=True)


def test_d18_a_new_split_of_the_root_key_retires_the_earlier_share_set(
    settings: Settings, clock: FrozenClock, tmp_path: Path
) -> None:
    vault = initialise(settings, clock=clock)
    try:
        op = Context.system(access_point="cli", clock=clock)
        key_file = settings.resolved_key_file
        first = key_recovery.split_root_key(vault, op, shares=3, threshold=2)
        backup = tmp_path / "keys-backup.json"  # the operator's copy of the key file, before the new split
        shutil.copy2(key_file, backup)
        versions = vault.keys.versions()
        # Later: two of the three holders left; the operator splits anew, 3 of 5.
        second = key_recovery.split_root_key(vault, op, shares=5, threshold=3)
        old = recover_root(first.mnemonics[:2])  # the two former holders
        assert not _opens(key_file, old.root), "the earlier shares still open the live key file (K15)"
        new = recover_root(second.mnemonics[2:])
        assert new.root.reveal() == read_root_key(settings.resolved_root_key_file).reveal()
        reopened = FileKeyProvider.open(key_file, new.root)
        assert reopened.versions() == versions  # the same KEKs, under the new root key
        assert "next" not in json.loads(key_file.read_text())
        # Expected (and documented): a copy made before the split still opens with the earlier shares.
        assert _opens(backup, old.root)
        assert not _opens(backup, new.root)
    finally:
        vault.close()


def test_d18_a_server_running_beside_the_split_keeps_opening_its_keys(
    settings: Settings, clock: FrozenClock
) -> None:
    server = initialise(settings, clock=clock)  # `vault serve`, started before the split
    try:
        team = make_team(server)
        ctx = ctx_for(server, make_user(server, Role.MEDEWERKER, teams=[team]), Role.MEDEWERKER)
        case = new_case(server, ctx, team)
        doc = upload(server, ctx, case, b"dossier voor de splitsing")
        operator = open_vault(settings, clock=clock)  # `vault keys split`, then `vault keys rotate`
        try:
            op = Context.system(access_point="cli", clock=clock)
            key_recovery.split_root_key(operator, op, shares=3, threshold=2)
            keyring.rotate_kek(operator, op)
            list(keyring.rewrap_all(operator, op))
        finally:
            operator.close()
        # The case key is now under epoch 2, sealed in a key file the server's old root does not open.
        assert b"".join(read_document(server, ctx, doc).chunks) == b"dossier voor de splitsing"
        assert server.keys.provider.versions() == [1, 2]
    finally:
        server.close()


@pytest.mark.parametrize("unwritable", ["keys", "root"])
def test_d18_a_split_that_cannot_write_changes_nothing_and_the_earlier_shares_still_open(
    unwritable: str, settings: Settings, clock: FrozenClock, tmp_path: Path
) -> None:
    settings = _apart(settings, tmp_path)
    initialise(settings, clock=clock).close()
    first = _cli(settings, "keys", "split", "--shares", "3", "--threshold", "2")
    assert first.returncode == 0, first.stderr
    old_shares = _shares(first.stdout)
    key_file, root_file = settings.resolved_key_file, settings.resolved_root_key_file
    root_before = root_file.read_bytes()
    with _unwritable(tmp_path / unwritable):
        failed = _cli(settings, "keys", "split", "--shares", "5", "--threshold", "3")
    assert failed.returncode != 0
    assert "Traceback" not in failed.stderr
    lines = failed.stderr.strip().splitlines()
    assert len(lines) == 1, failed.stderr
    assert lines[0].startswith("error: the root key was not replaced"), failed.stderr
    assert _shares(failed.stdout) == []  # no share of a root key that is not in place
    assert root_file.read_bytes() == root_before
    assert "next" not in json.loads(key_file.read_text())  # the half-way key file was put back
    assert sorted(p.name for p in root_file.parent.iterdir()) == ["root.key"]
    assert _opens(key_file, recover_root(old_shares[:2]).root)
    assert _splits(settings, clock) == 1  # the failed split is not audited as done
    status = _cli(settings, "keys", "status")  # the vault opens as before
    assert status.returncode == 0, status.stderr
    # Rerun: now it goes through, and the earlier shares are retired.
    again = _cli(settings, "keys", "split", "--shares", "5", "--threshold", "3")
    assert again.returncode == 0, again.stderr
    new_shares = _shares(again.stdout)
    assert len(new_shares) == 5
    assert not _opens(key_file, recover_root(old_shares[:2]).root)
    assert _opens(key_file, recover_root(new_shares[:3]).root)
    assert _splits(settings, clock) == 2
    # The root key file lost: the retired shares are refused in one line, the new ones restore it.
    root_file.unlink()
    retired = _cli(settings, "keys", "recover", input="\n".join(old_shares[:2]) + "\n")
    assert retired.returncode != 0
    assert retired.stderr.strip().splitlines() == [
        "error: these shares do not open the key file (VAULT_KEY_FILE): they are of another vault, or of "
        "a share set a later `vault keys split` retired; nothing was written"
    ]
    assert not root_file.exists()
    restored = _cli(settings, "keys", "recover", input="\n".join(new_shares[1:4]) + "\n")
    assert restored.returncode == 0, restored.stderr
    assert _opens(key_file, read_root_key(root_file))


@pytest.mark.parametrize("steps_done", [1, 2])
def test_d18_a_split_killed_half_way_leaves_a_vault_that_opens_and_a_rerun_finishes(
    steps_done: int, settings: Settings, clock: FrozenClock
) -> None:
    vault = initialise(settings, clock=clock)
    team = make_team(vault)
    ctx = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team]), Role.MEDEWERKER)
    doc = upload(vault, ctx, new_case(vault, ctx, team), b"dossier")
    op = Context.system(access_point="cli", clock=clock)
    old = key_recovery.split_root_key(vault, op, shares=3, threshold=2)
    vault.close()
    key_file, root_file = settings.resolved_key_file, settings.resolved_root_key_file
    # What a run killed after step 1 (or 2) of `replace_root` leaves on disk.
    old_root = read_root_key(root_file)
    keks, _ = filekeys._read_keks(key_file, old_root)
    killed_root = SecretKey(os.urandom(KEY_SIZE))
    filekeys._replace(key_file, filekeys._document(keks, old_root, killed_root))
    if steps_done == 2:
        filekeys._replace(root_file, filekeys._root_payload(killed_root))
    # The root key file on disk and the earlier shares both open the key file; the vault starts.
    assert _opens(key_file, read_root_key(root_file))
    assert _opens(key_file, recover_root(old.mnemonics[:2]).root)
    server: Vault = open_vault(settings, clock=clock)
    try:
        assert b"".join(read_document(server, ctx, doc).chunks) == b"dossier"
        new = key_recovery.split_root_key(server, op, shares=3, threshold=2)  # the rerun
    finally:
        server.close()
    assert "next" not in json.loads(key_file.read_text())
    assert not _opens(key_file, recover_root(old.mnemonics[:2]).root)
    assert not _opens(key_file, killed_root)
    assert _opens(key_file, recover_root(new.mnemonics[:2]).root)
