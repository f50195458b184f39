"""D16, D18: `vault keys recover` (file provider) restores the root key file only when the database it
must audit in opens: a run that cannot reach the database changes nothing, one line, and the rerun
restores and audits ``system:keys:recovered`` (K13)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from vault.config import Settings
from vault.context import FrozenClock
from vault.domain import AuditTag
from vault.models import AuditEntry
from vault.runtime import open_vault
from vault.services.setup import initialise

CLI = [sys.executable, "-c", "from vault.cli.main import main; main()"]


def _run(args: list[str], env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], env=env, input=stdin, capture_output=True, text=True, timeout=120)


def test_d16_a_root_key_recovery_whose_database_is_unreachable_restores_nothing(
    settings: Settings, clock: FrozenClock, tmp_path: Path
) -> None:
    initialise(settings, clock=clock).close()
    env = {
        **os.environ,
        "VAULT_HOME": str(settings.home),
        "VAULT_DATABASE_URL": settings.database_url or "",
        "VAULT_PASSWORD_HASHING": "fast_insecure_for_tests",
    }
    split = _run(["keys", "split", "--shares", "3", "--threshold", "2"], env)
    assert split.returncode == 0, split.stderr
    shares = [line for line in split.stdout.splitlines() if len(line.split()) >= 20]
    settings.resolved_root_key_file.unlink()  # lost
    down = {**env, "VAULT_DATABASE_URL": f"sqlite:///{tmp_path}/missing-dir/vault.db"}
    first = _run(["keys", "recover"], down, stdin="\n".join(shares[:2]) + "\n")
    assert first.returncode == 2
    assert first.stderr.strip().splitlines() == [
        "error: VAULT_DATABASE_URL: the database cannot be reached (OperationalError)"
    ], first.stderr
    assert not settings.resolved_root_key_file.exists(), "restored although the recovery cannot be audited"

    rerun = _run(["keys", "recover"], env, stdin="\n".join(shares[:2]) + "\n")
    assert rerun.returncode == 0, rerun.stderr
    vault = open_vault(settings, clock=clock)
    try:
        with vault.db.session() as session:
            tags = session.scalars(
                select(AuditEntry.tag).where(AuditEntry.tag == AuditTag.SYSTEM_KEYS_RECOVERED.value)
            ).all()
    finally:
        vault.close()
    assert len(tags) == 1
