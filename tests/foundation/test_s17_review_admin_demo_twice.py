"""Session 17 review: `make run` started twice at once (two terminals, a double start by a script)
on one database. On PostgreSQL both runs saw "no demo yet", both wrote the demo mark, and the second
failed on the unique index of its first audit entry: exit 1 with "error: the audit log cannot be
written; nothing was disclosed", an alarm about the log for what was only a second demo run. Now the
runs take turns over the whole load; the second finds the demo complete and prints the logins."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.foundation.test_cli import _env, run_cli
from tests.foundation.test_demo_resume import _COMPLETE, _counts


def test_s17_two_demo_runs_at_once_both_succeed_and_load_the_demo_once(
    tmp_path: Path, database_url: str
) -> None:
    env = _env(tmp_path / "home", database_url)
    assert run_cli(["init"], env).returncode == 0
    full = {**{k: v for k, v in os.environ.items() if not k.startswith("VAULT_")}, **env}
    command = [sys.executable, "-m", "vault.cli.main", "demo", "--no-serve"]
    runs = [
        subprocess.Popen(command, env=full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=180) for run in runs]
    for run, (out, err) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, err
        assert "audit log cannot be written" not in err
        assert "Traceback" not in err
        assert "DEMO" in out
        assert "demo-admin" in out
    counts = _counts(database_url)
    assert {k: counts[k] for k in _COMPLETE} == _COMPLETE
    assert counts["users"] == 7
    assert counts["organisations"] == 10
    assert counts["complete"] == 1
