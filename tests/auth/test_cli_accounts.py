"""`vault team|org|user …`: clear one-line errors, no account on error, one-time passwords, audit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from vault.config import Settings
from vault.db import Database
from vault.domain import AuditTag
from vault.models import AuditEntry, User
from vault.services.demo import DEMO_PASSWORD, load_demo
from vault.services.setup import initialise

VAULT = [sys.executable, "-m", "vault.cli.main"]


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("VAULT_")}
    full_env.update(env)
    return subprocess.run([*VAULT, *args], env=full_env, capture_output=True, text=True, timeout=120)


def _one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_user_admin_commands(tmp_path: Path, database_url: str) -> None:
    env = {
        "VAULT_HOME": str(tmp_path / "home"),
        "VAULT_DATABASE_URL": database_url,
        "VAULT_PASSWORD_HASHING": "fast_insecure_for_tests",
    }
    assert _run(["init"], env).returncode == 0

    err = _one_line_error(_run(["user", "add", "piet", "--role", "medewerker", "--team", "Nope"], env))
    assert "unknown team" in err
    err = _one_line_error(_run(["user", "add", "pol", "--role", "partner"], env))
    assert "--org" in err
    err = _one_line_error(_run(["user", "add", "pol", "--role", "partner", "--org", "Nope"], env))
    assert "unknown organisation" in err
    assert _run(["user", "add", "mees", "--role", "medewerker"], env).returncode != 0

    assert _run(["team", "add", "Team Zuid"], env).returncode == 0
    assert _run(["org", "add", "Politie Zuid", "--type", "police"], env).returncode == 0
    assert "organisation type" in _one_line_error(_run(["org", "add", "X", "--type", "martians"], env))

    added = _run(["user", "add", "piet", "--role", "medewerker", "--team", "Team Zuid"], env)
    assert added.returncode == 0, added.stderr
    password = added.stdout.split("initial password (shown once): ")[1].split()[0]
    assert "replaces this password" in added.stdout  # D17: the generated password is for once only
    partner = _run(["user", "add", "pol", "--role", "partner", "--org", "Politie Zuid"], env)
    assert partner.returncode == 0, partner.stderr

    assert _run(["user", "reset-2fa", "piet"], env).returncode == 0
    assert _run(["user", "disable", "piet"], env).returncode == 0
    assert "unknown user" in _one_line_error(_run(["user", "disable", "nobody"], env))

    db = Database(database_url)
    try:
        with db.session() as session:
            users = {u.username: u for u in session.scalars(select(User))}
            assert set(users) == {"piet", "pol"}
            assert users["piet"].disabled
            assert users["piet"].password_hash.startswith("$argon2id$")
            assert password not in users["piet"].password_hash
            tags = list(session.scalars(select(AuditEntry.tag)))
            details = " ".join(session.scalars(select(AuditEntry.details)))
            assert session.scalar(select(func.count()).select_from(AuditEntry)) > 0
    finally:
        db.dispose()
    for tag in (
        AuditTag.ADMIN_USER_CREATED,
        AuditTag.AUTH_TOTP_RESET,
        AuditTag.ADMIN_USER_DISABLED,
        AuditTag.ADMIN_TEAM_CREATED,
        AuditTag.ADMIN_ORG_CREATED,
    ):
        assert tag in tags
    assert password not in details

    # D16: enabled again by the operator, audited; a second time changes nothing
    assert "user enabled: piet" in _run(["user", "enable", "piet"], env).stdout
    assert "nothing changed" in _run(["user", "enable", "piet"], env).stdout
    assert "unknown user" in _one_line_error(_run(["user", "enable", "nobody"], env))
    db = Database(database_url)
    try:
        with db.session() as session:
            assert not session.scalars(select(User).where(User.username == "piet")).one().disabled
            tag = AuditEntry.tag == "admin:user:enabled"
            enabled = select(func.count()).select_from(AuditEntry).where(tag)
            assert session.scalar(enabled) == 1
    finally:
        db.dispose()


def test_demo_creates_enrolled_users_for_every_role_once(settings: Settings, clock: object) -> None:
    from vault.domain import Role

    vault = initialise(settings)
    try:
        first = load_demo(vault)
        second = load_demo(vault)
        with vault.db.session() as session:
            count = session.scalar(select(func.count()).select_from(User))
    finally:
        vault.close()
    assert count == len(Role)
    assert any(DEMO_PASSWORD in line for line in first)
    assert [line for line in first if "TOTP secret " in line] == [
        line for line in second if "TOTP secret " in line
    ]
    assert sum("TOTP secret " in line for line in first) == len(Role)
