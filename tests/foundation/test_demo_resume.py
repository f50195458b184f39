"""``vault demo`` killed part-way is completed by the next run; a complete demo is left as it is.

The "this is demo data" mark commits with the accounts, before the cases. A run killed while it made
the cases (a ``kill -9``: here the real command in a subprocess that ends with ``os._exit`` at one step)
left the demo half-loaded for good: the rerun saw the mark and exited 0 with 3 cases, no documents and
no disclosure. Now the rerun makes exactly what is missing, nothing twice.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Select, func, select

from tests.foundation.test_cli import _env, run_cli
from vault.db import Database
from vault.models import (
    AuditEntry,
    BreakGlassAccess,
    Case,
    CaseWorkflow,
    Document,
    DocumentVersion,
    Grant,
    Organisation,
    Team,
    User,
    VaultMeta,
)
from vault.services.demo import DEMO_COMPLETE

# The real `vault demo --no-serve`, killed (no cleanup, no exception handling) at one step of loading
# the cases: before the step's n-th call, or right after it committed.
_KILLED_AT = """
import os, sys
from vault.services import demo_cases
name, nth, when = sys.argv[1], int(sys.argv[2]), sys.argv[3]
owner = demo_cases
for part in name.split(".")[:-1]:
    owner = getattr(owner, part)
attribute = name.split(".")[-1]
step = getattr(owner, attribute)
calls = []
def killed(*args, **kwargs):
    calls.append(1)
    if len(calls) == nth and when == "before":
        os._exit(137)
    result = step(*args, **kwargs)
    if len(calls) == nth:
        os._exit(137)
    return result
setattr(owner, attribute, killed)
sys.argv = ["vault", "demo", "--no-serve"]
from vault.cli.main import main
main()
"""

# What a complete demo holds beside its accounts.
_COMPLETE = {
    "cases": 4,
    "documents": 4,
    "versions": 4,
    "grants": 1,
    "break_glass": 1,
    "teams": 2,
    "triaged": 1,
}


def _killed_demo(env: dict[str, str], step: str, nth: int, when: str) -> None:
    full = {**{k: v for k, v in os.environ.items() if not k.startswith("VAULT_")}, **env}
    done = subprocess.run(
        [sys.executable, "-c", _KILLED_AT, step, str(nth), when],
        env=full,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 137, done.stderr


def _counts(url: str) -> dict[str, int]:
    db = Database(url)
    try:
        with db.session() as session:

            def count(stmt: Select[int]) -> int:
                return int(session.scalar(stmt) or 0)

            return {
                "cases": count(select(func.count()).select_from(Case)),
                "documents": count(select(func.count()).select_from(Document)),
                "versions": count(select(func.count()).select_from(DocumentVersion)),
                "grants": count(select(func.count()).select_from(Grant)),
                "break_glass": count(select(func.count()).select_from(BreakGlassAccess)),
                "teams": count(select(func.count()).select_from(Team)),
                "triaged": count(select(func.count()).where(CaseWorkflow.triage_outcome.is_not(None))),
                "users": count(select(func.count()).select_from(User)),
                "organisations": count(select(func.count()).select_from(Organisation)),
                "audit": count(select(func.count()).select_from(AuditEntry)),
                "complete": count(select(func.count()).where(VaultMeta.key == DEMO_COMPLETE)),
            }
    finally:
        db.dispose()


def _demo(env: dict[str, str]) -> None:
    done = run_cli(["demo", "--no-serve"], env)
    assert done.returncode == 0, done.stderr
    assert "DEMO" in done.stdout


@pytest.mark.parametrize(
    ("step", "nth", "when"),
    [
        ("_open_reports", 1, "after"),
        ("upload_document", 1, "before"),
        ("upload_document", 2, "after"),
        ("disclosures.create_disclosure", 1, "after"),
        ("triage.record_triage_outcome", 1, "after"),
        ("view_case", 1, "before"),
        ("view_case", 1, "after"),
    ],
)
def test_demo_killed_while_loading_the_cases_is_completed_by_the_rerun(
    tmp_path: Path, database_url: str, step: str, nth: int, when: str
) -> None:
    env = _env(tmp_path / "home", database_url)
    _killed_demo(env, step, nth, when)
    half = _counts(database_url)
    assert half["complete"] == 0
    _demo(env)
    counts = _counts(database_url)
    assert {k: counts[k] for k in _COMPLETE} == _COMPLETE
    assert counts["complete"] == 1
    assert {k: counts[k] for k in ("users", "organisations")} == {
        k: half[k] for k in ("users", "organisations")
    }
    _demo(env)  # complete now: the next run changes nothing
    assert _counts(database_url) == counts
    assert run_cli(["audit", "verify"], env).returncode == 0


def test_a_complete_demo_is_left_as_it_is_by_every_rerun(tmp_path: Path, database_url: str) -> None:
    env = _env(tmp_path / "home", database_url)
    _demo(env)
    loaded = _counts(database_url)
    assert {k: loaded[k] for k in _COMPLETE} == _COMPLETE
    _demo(env)
    assert _counts(database_url) == loaded


def test_a_demo_loaded_before_the_completion_mark_existed_is_found_whole(
    tmp_path: Path, database_url: str
) -> None:
    """A demo complete but without the mark (loaded by an earlier release): the rerun finds every
    part, makes none again, and only marks it complete."""
    env = _env(tmp_path / "home", database_url)
    _demo(env)
    db = Database(database_url)
    try:
        with db.session() as session:
            row = session.get(VaultMeta, DEMO_COMPLETE)
            assert row is not None
            session.delete(row)
    finally:
        db.dispose()
    loaded = _counts(database_url)
    _demo(env)
    assert _counts(database_url) == {**loaded, "complete": 1}
