"""The ``vault`` command: init is idempotent, bad configuration gives one line and a non-zero exit."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from vault.config import Settings
from vault.db import Database
from vault.domain import AuditTag
from vault.models import AuditEntry

VAULT = [sys.executable, "-m", "vault.cli.main"]


def run_cli(
    args: list[str], env: dict[str, str], timeout: float = 120, stdout: int = subprocess.PIPE
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("VAULT_")}
    full_env.update(env)
    return subprocess.run(
        [*VAULT, *args], env=full_env, stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=timeout
    )


def _env(home: Path, url: str) -> dict[str, str]:
    return {
        "VAULT_HOME": str(home),
        "VAULT_DATABASE_URL": url,
        "VAULT_PASSWORD_HASHING": "fast_insecure_for_tests",
    }


def _one_line_error(proc: subprocess.CompletedProcess[str], setting: str) -> None:
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ")
    assert setting in lines[0]
    assert "Traceback" not in proc.stderr


def test_version() -> None:
    proc = run_cli(["--version"], {})
    assert proc.returncode == 0
    assert proc.stdout.startswith("vault ")


def test_init_is_idempotent_and_creates_a_private_key_file(tmp_path: Path, database_url: str) -> None:
    env = _env(tmp_path / "home", database_url)
    for _ in range(2):
        proc = run_cli(["init"], env)
        assert proc.returncode == 0, proc.stderr
    key_file = tmp_path / "home" / "keys.json"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    db = Database(database_url)
    try:
        with db.session() as session:
            inits = session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.tag == AuditTag.SYSTEM_VAULT_INIT)
            )
    finally:
        db.dispose()
    assert inits == 1
    assert run_cli(["audit", "verify"], env).returncode == 0


def test_unreachable_database_names_the_setting(tmp_path: Path) -> None:
    proc = run_cli(["init"], _env(tmp_path / "home", "postgresql+psycopg://vault:pw@127.0.0.1:1/nowhere"))
    _one_line_error(proc, "VAULT_DATABASE_URL")
    assert "pw" not in proc.stderr.replace("VAULT_", "")


def test_malformed_database_url_names_the_setting(tmp_path: Path) -> None:
    proc = run_cli(["init"], _env(tmp_path / "home", "this is :// not a url"))
    _one_line_error(proc, "VAULT_DATABASE_URL")


def test_unsupported_database_names_the_setting(tmp_path: Path) -> None:
    proc = run_cli(["init"], _env(tmp_path / "home", "mysql://u@localhost/x"))
    _one_line_error(proc, "VAULT_DATABASE_URL")


@pytest.mark.parametrize("kind", ["file", "proc"])
def test_unwritable_home_names_the_setting(tmp_path: Path, database_url: str, kind: str) -> None:
    if kind == "file":
        blocker = tmp_path / "a-file"
        blocker.write_text("not a folder")
        home = blocker / "home"
    else:
        home = Path("/proc/vault-home-cannot-exist")
    proc = run_cli(["init"], _env(home, database_url))
    _one_line_error(proc, "VAULT_HOME")


def test_key_file_with_loose_permissions_is_refused(tmp_path: Path, database_url: str) -> None:
    env = _env(tmp_path / "home", database_url)
    assert run_cli(["init"], env).returncode == 0
    (tmp_path / "home" / "keys.json").chmod(0o644)
    proc = run_cli(["audit", "verify"], env)
    _one_line_error(proc, "VAULT_KEY_PROVIDER")


def test_bad_setting_value_names_the_setting(tmp_path: Path, database_url: str) -> None:
    env = _env(tmp_path / "home", database_url) | {"VAULT_PORT": "not-a-port"}
    proc = run_cli(["init"], env)
    _one_line_error(proc, "VAULT_PORT")


def test_serve_refuses_an_uninitialised_vault(tmp_path: Path, empty_database_url: str) -> None:
    proc = run_cli(["serve"], _env(tmp_path / "home", empty_database_url), timeout=30)
    _one_line_error(proc, "VAULT_HOME")


def test_debug_shows_a_traceback(tmp_path: Path) -> None:
    proc = run_cli(["--debug", "init"], _env(tmp_path / "home", "this is :// not a url"))
    assert proc.returncode != 0
    assert "Traceback" in proc.stderr


def test_demo_refuses_a_database_with_real_data(
    settings: Settings, database_url: str, tmp_path: Path
) -> None:
    from vault.audit import record
    from vault.context import Context
    from vault.services.setup import initialise

    vault = initialise(settings)
    with vault.db.session() as session:
        record(
            session,
            Context(actor_id="u1", role="medewerker", access_point="test"),
            AuditTag.DOSSIER_CASE_CREATED,
        )
    vault.close()
    proc = run_cli(["demo", "--no-serve"], _env(settings.home, database_url))
    _one_line_error(proc, "non-demo data")


def test_demo_loads_once_and_is_marked(tmp_path: Path, database_url: str) -> None:
    env = _env(tmp_path / "home", database_url)
    first = run_cli(["demo", "--no-serve"], env)
    assert first.returncode == 0, first.stderr
    assert "DEMO" in first.stdout
    assert "Serving on" not in first.stdout  # it does not serve, so it does not say so
    second = run_cli(["demo", "--no-serve"], env)
    assert second.returncode == 0, second.stderr


# "1": a write fails inside the command; "": the output waits in Python's buffer until main() flushes it.
BUFFERING = pytest.mark.parametrize("unbuffered", ["1", ""], ids=["unbuffered", "buffered"])


def _destroyed_case(settings: Settings) -> str:
    """An initialised vault with one destroyed case: ``retention certificate`` has something to write."""
    from tests.helpers import ctx_for, make_team, make_user, new_case
    from vault.cli.common import operator_context
    from vault.domain import Role
    from vault.services.destruction import destroy_case
    from vault.services.setup import initialise

    vault = initialise(settings)
    try:
        team = make_team(vault)
        worker = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team]), Role.MEDEWERKER)
        case_id = new_case(vault, worker, team)
        destroy_case(vault, operator_context(vault), case_id, reason="retention_expired")
    finally:
        vault.close()
    return case_id


@BUFFERING
@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_disk_on_stdout_is_one_line_not_a_traceback(
    settings: Settings, database_url: str, unbuffered: str
) -> None:
    case_id = _destroyed_case(settings)
    env = {**_env(settings.home, database_url), "PYTHONUNBUFFERED": unbuffered}
    for args in (["rights", "register"], ["audit", "export"], ["retention", "certificate", case_id]):
        with open("/dev/full", "w") as full:
            proc = run_cli(args, env, stdout=full.fileno())
        _one_line_error(proc, "writing the output failed (No space left on device)")


@BUFFERING
def test_a_closed_pipe_on_stdout_ends_the_command_without_a_traceback(
    settings: Settings, database_url: str, unbuffered: str
) -> None:
    case_id = _destroyed_case(settings)
    env = {**_env(settings.home, database_url), "PYTHONUNBUFFERED": unbuffered}
    for args in (["audit", "export"], ["retention", "certificate", case_id]):
        read_end, write_end = os.pipe()
        os.close(read_end)  # the reader is gone before the command writes: every write meets EPIPE
        try:
            proc = run_cli(args, env, stdout=write_end)
        finally:
            os.close(write_end)
        assert proc.returncode == 1, proc.stderr
        assert "Traceback" not in proc.stderr
        assert "Exception ignored" not in proc.stderr  # the interpreter's flush at exit
        # typer ends a closed pipe met inside the command silently; main()'s flush says so in one line
        assert proc.stderr in ("", "error: writing the output failed (Broken pipe)\n")
