"""``vault audit prove`` with numbers no log can reach: typer's usage error, not an OverflowError."""

from __future__ import annotations

import json

from tests.foundation.test_cli import _env, run_cli
from vault.audit import record
from vault.context import Context
from vault.domain import AuditTag
from vault.runtime import Vault

TOO_LARGE = str(2**63)  # one past the largest sequence number (a signed 64-bit id)


def test_d16_prove_refuses_a_size_or_seq_beyond_64_bits_with_a_usage_error(
    vault: Vault, system_ctx: Context, database_url: str
) -> None:
    for i in range(3):
        with vault.db.session() as session:
            record(session, system_ctx, AuditTag.SYSTEM_READINESS_PROBE, object_id=f"o{i}")
    env = _env(vault.settings.resolved_home, database_url)
    assert run_cli(["audit", "checkpoint"], env).returncode == 0
    for args in (
        ["--seq", "1", "--size", "99999999999999999999"],
        ["--seq", TOO_LARGE],
        ["--from-size", "99999999999999999999"],
        ["--from-size", "1", "--size", TOO_LARGE],
    ):
        done = run_cli(["audit", "prove", *args], env)
        assert done.returncode == 2, (args, done.stderr)
        assert "Traceback" not in done.stderr
        assert "Invalid value" in done.stderr
        assert "9223372036854775807" in done.stderr  # the bound is named
    # The largest value that fits is a domain answer (no such checkpoint), still one line.
    done = run_cli(["audit", "prove", "--seq", "1", "--size", str(2**63 - 1)], env)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ")
    proof = run_cli(["audit", "prove", "--seq", "1"], env)
    assert proof.returncode == 0, proof.stderr
    assert json.loads(proof.stdout)["leaf_index"] == 0
