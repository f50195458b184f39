"""Every file the vault creates in VAULT_HOME is private to its user: files 0600, directories 0700,
whatever the umask of the shell that started it (issue 16, item 7; D18)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.helpers import ctx_for, make_team, make_user, new_case, upload
from vault.app import create_app
from vault.config import Settings
from vault.domain import Role
from vault.runtime import open_vault
from vault.services.policy_admin import write_pidfile

VAULT = [sys.executable, "-m", "vault.cli.main"]


@pytest.fixture
def shell_umask() -> Iterator[None]:
    """The usual login umask (022), as a operator's shell has it; restored afterwards."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def _loose(home: Path) -> list[str]:
    found = []
    for path in [home, *home.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        if mode & 0o077:
            found.append(f"{path.relative_to(home.parent)} {oct(mode)}")
    return found


def test_d18_vault_home_holds_only_private_files_after_init_upload_and_a_served_request(
    tmp_path: Path, shell_umask: None
) -> None:
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("VAULT_")}
    env.update({"VAULT_HOME": str(home), "VAULT_PASSWORD_HASHING": "fast_insecure_for_tests"})
    proc = subprocess.run(
        [*VAULT, "init"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=lambda: os.umask(0o022),
    )
    assert proc.returncode == 0, proc.stderr
    assert (home / "vault.db").exists()  # the embedded default: SQLite inside VAULT_HOME
    assert _loose(home) == []

    os.umask(0o022)  # the serving process starts from the shell's umask too
    settings = Settings(home=home, password_hashing="fast_insecure_for_tests", cookie_secure=False)
    vault = open_vault(settings)
    try:
        team = make_team(vault)
        worker = make_user(vault, Role.MEDEWERKER, teams=[team])
        ctx = ctx_for(vault, worker, Role.MEDEWERKER)
        upload(vault, ctx, new_case(vault, ctx, team), b"verslag " * 20_000)
        with TestClient(create_app(vault)) as client:
            assert client.get("/readyz").status_code == 200
        write_pidfile(settings.resolved_home)
        # While the vault is open, SQLite's write-ahead log and shared-memory index exist beside it.
        names = {p.name for p in home.iterdir()}
        assert {"vault.db", "vault.db-wal", "vault.db-shm", "keys.json", "blobs", "server.pid"} <= names
        assert any(p.is_file() for p in (home / "blobs").rglob("*"))
        assert _loose(home) == []
    finally:
        vault.close()
    assert _loose(home) == []
