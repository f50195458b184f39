"""A database migrated by a newer release (a node rolled back in a rolling upgrade: the schema's revision
is unknown to this code). Every command refuses it with one line that says so and exits 2 — never the
advice to run ``vault init``, which then died with Alembic's traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.foundation.test_cli import _env, run_cli
from vault import migrate
from vault.db import Database
from vault.errors import ConfigError
from vault.runtime import Vault

_NEWER = "0099_from_a_newer_release"
_REFUSAL = (
    f"error: the database was migrated by a newer release of the vault (revision {_NEWER}); run that release"
)


def _migrated_by_a_newer_release(url: str) -> None:
    db = Database(url)
    try:
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": _NEWER})
    finally:
        db.dispose()


@pytest.mark.parametrize(
    "args",
    [["init"], ["serve", "--port", "1"], ["keys", "status"], ["audit", "verify"]],
    ids=["init", "serve", "keys-status", "audit-verify"],
)
def test_every_command_on_a_schema_from_a_newer_release_says_so_in_one_line(
    tmp_path: Path, database_url: str, args: list[str]
) -> None:
    env = _env(tmp_path / "home", database_url)
    assert run_cli(["init"], env).returncode == 0
    _migrated_by_a_newer_release(database_url)
    proc = run_cli(args, env)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.splitlines() == [_REFUSAL]
    assert proc.stdout == ""


def test_migrations_refuse_an_unknown_revision_and_change_nothing(database_url: str) -> None:
    _migrated_by_a_newer_release(database_url)
    db = Database(database_url)
    try:
        for step in (migrate.is_at_head, migrate.upgrade, migrate.downgrade):
            with pytest.raises(ConfigError, match=r"newer release of the vault \(revision 0099_from_a_newer"):
                step(db.engine)
        assert migrate.current_revision(db.engine) == _NEWER
    finally:
        db.dispose()


def test_a_running_server_whose_schema_a_newer_release_migrated_is_not_ready(
    client: TestClient, vault: Vault
) -> None:
    assert client.get("/readyz").status_code == 200
    with vault.db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": _NEWER})
    r = client.get("/readyz")
    assert r.status_code == 503
