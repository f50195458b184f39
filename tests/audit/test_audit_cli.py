"""``vault audit verify | checkpoint | prove | export`` as an operator runs them (real process)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.foundation.test_cli import _env, run_cli
from tests.helpers import drop_append_only
from vault.audit import record
from vault.context import Context
from vault.domain import AuditTag
from vault.runtime import Vault

CASE = "c0ffee00-0000-4000-8000-000000000001"  # a case id is a UUID: the export filter refuses anything else


def test_d16_cli_checkpoint_prove_export_and_verify_name_the_fault(
    vault: Vault, system_ctx: Context, tmp_path: Path, database_url: str
) -> None:
    for i in range(5):
        with vault.db.session() as session:
            record(session, system_ctx, AuditTag.SYSTEM_READINESS_PROBE, case_id=CASE, object_id=f"o{i}")
    env = _env(vault.settings.resolved_home, database_url)

    done = run_cli(["audit", "checkpoint"], env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("vault.veiligthuis.local/audit\n6\n")

    proof = run_cli(["audit", "prove", "--seq", "3"], env)
    assert proof.returncode == 0, proof.stderr
    assert json.loads(proof.stdout)["tree_size"] == 6

    out = tmp_path / "case-1.json"
    exported = run_cli(["audit", "export", "--case", CASE, "--format", "json", "--output", str(out)], env)
    assert exported.returncode == 0, exported.stderr
    exported_entries = json.loads(out.read_text())
    assert len(exported_entries) == 6  # the five, and the export's own entry, committed before it ran
    assert exported_entries[-1]["tag"] == "audit:log:exported"

    ok = run_cli(["audit", "verify"], env)
    assert ok.returncode == 0, ok.stderr
    assert "intact" in ok.stdout

    with vault.db.engine.begin() as conn:
        drop_append_only(conn, vault, "audit_entries")
        conn.execute(text("UPDATE audit_entries SET object_id = 'x' WHERE seq = 4"))
    broken = run_cli(["audit", "verify"], env)
    assert broken.returncode == 1
    assert "entry 4" in broken.stderr


def _entries(vault: Vault) -> int:
    with vault.db.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM audit_entries")).scalar_one())


def test_export_output_refused_in_one_line_nothing_recorded_nothing_overwritten(
    vault: Vault, tmp_path: Path, database_url: str
) -> None:
    env = _env(vault.settings.resolved_home, database_url)
    existing = tmp_path / "earlier-export.json"
    existing.write_text("an earlier export\n")
    before = _entries(vault)
    for target, message in (
        (existing, f"--output: {existing} exists, not overwritten"),
        (
            tmp_path / "no" / "such" / "x.json",
            f"--output: the folder {tmp_path / 'no' / 'such'} does not exist",
        ),
        (existing / "x.json", f"--output: {existing} is not a folder"),
    ):
        refused = run_cli(["audit", "export", "--format", "json", "--output", str(target)], env)
        assert refused.returncode == 1, refused.stderr
        assert "Traceback" not in refused.stderr
        assert refused.stderr.splitlines() == [f"error: {message}"]
        assert refused.stdout == ""
    assert existing.read_text() == "an earlier export\n"
    assert not (tmp_path / "no").exists()
    assert _entries(vault) == before, "a refused export is not recorded as an export"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs: a disk that fills up. Mounting needs root (as CI runs); elsewhere the test skips."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_an_export_that_fails_halfway_leaves_no_partial_file(
    vault: Vault, system_ctx: Context, small_disk: Path, database_url: str
) -> None:
    """A disk that fills up halfway ends in one line, and the half-written export is removed: a
    truncated export must not be mistaken for the whole log."""
    with vault.db.session() as session:
        for i in range(300):
            record(session, system_ctx, AuditTag.SYSTEM_READINESS_PROBE, case_id=CASE, object_id=f"o{i}")
    env = _env(vault.settings.resolved_home, database_url)
    out = small_disk / "export.json"
    failed = run_cli(["audit", "export", "--format", "json", "--output", str(out)], env)
    assert failed.returncode == 1, failed.stderr
    assert failed.stderr.splitlines() == [
        f"error: --output: writing {out} failed (No space left on device); removed"
    ]
    assert list(small_disk.iterdir()) == []
