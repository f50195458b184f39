"""``vault audit review`` as an operator runs it (real process): findings once per period."""

from __future__ import annotations

import json

from tests.foundation.test_cli import _env, run_cli
from tests.logcontrole.conftest import DAY, World
from vault.domain import Decision


def test_d21_cli_review_writes_findings_and_is_idempotent(world: World, database_url: str) -> None:
    for i in range(3):
        world.log(world.b1, DAY.replace(hour=10, minute=i), case_id=world.case, decision=Decision.DENY)
    env = _env(world.vault.settings.resolved_home, database_url)
    args = ["audit", "review", "--from", "2026-03-10T00:00:00Z", "--to", "2026-03-11T00:00:00Z"]
    first = run_cli(args, env)
    assert first.returncode == 0, first.stderr
    out = json.loads(first.stdout.strip().splitlines()[-1])
    assert (out["new"], out["by_detector"]) == (1, {"probing": 1})
    again = run_cli([*args, "--quiet"], env)
    assert again.returncode == 0, again.stderr
    out = json.loads(again.stdout.strip().splitlines()[-1])
    assert (out["new"], out["updated"]) == (0, 1)
    bad = run_cli(["audit", "review", "--from", "2026-03-10T00:00:00"], env)
    assert bad.returncode != 0
    assert "time zone" in bad.stderr
