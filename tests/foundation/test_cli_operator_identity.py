"""D16 "user": a CLI action is recorded under the OS account the process really runs as, never under
LOGNAME / USER / SUDO_USER, which whoever runs the command sets as they like; a uid without an
account by its number."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.foundation.test_cli import VAULT, run_cli


def _env(home: Path) -> dict[str, str]:
    return {"VAULT_HOME": str(home), "VAULT_PASSWORD_HASHING": "fast_insecure_for_tests"}


def _actors(home: Path, tag: str) -> list[str]:
    engine = create_engine(f"sqlite:///{home / 'vault.db'}")
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT actor_id FROM audit_entries WHERE tag = :tag ORDER BY seq"), {"tag": tag}
            ).scalars()
            return [str(actor) for actor in rows]
    finally:
        engine.dispose()


def test_d16_cli_audit_names_the_real_os_account_whatever_logname_user_or_sudo_user_claim(
    tmp_path: Path,
) -> None:
    home = tmp_path / "var"
    env = _env(home)
    assert run_cli(["init"], env).returncode == 0
    claimed = {"LOGNAME": "fg-anna", "USER": "fg-anna", "SUDO_USER": "fg-anna", "USERNAME": "fg-anna"}
    done = run_cli(["team", "add", "Team Noord"], env | claimed)
    assert done.returncode == 0, done.stderr
    done = run_cli(["user", "add", "schaduw", "--role", "medewerker", "--team", "Team Noord"], env | claimed)
    assert done.returncode == 0, done.stderr

    real = f"os:{pwd.getpwuid(os.getuid()).pw_name}"
    assert _actors(home, "admin:team:created") == [real]
    assert _actors(home, "admin:user:created") == [real]


_NO_ACCOUNT_UID = 54321  # a uid with no entry in the user database (checked below)


def _as_real_uid() -> None:
    # Real uid changed, effective uid kept (root): the process may read and write the vault as before,
    # and "who runs this" is the real uid, as for a set-uid program.
    os.setresuid(_NO_ACCOUNT_UID, 0, 0)


@pytest.mark.skipif(os.getuid() != 0, reason="setting another real uid needs root")
def test_d16_cli_audit_names_a_uid_without_an_account_by_its_number_not_by_logname() -> None:
    try:
        pwd.getpwuid(_NO_ACCOUNT_UID)
        pytest.skip(f"uid {_NO_ACCOUNT_UID} has an account here")
    except KeyError:
        pass
    # The vault checks VAULT_HOME is writable for the real uid: a folder that uid can reach and write
    # (pytest's tmp_path is private to root), removed afterwards.
    folder = Path(tempfile.mkdtemp(prefix="vault-uid-"))
    try:
        home = folder / "var"
        assert run_cli(["init"], _env(home)).returncode == 0
        for path in (folder, home, home / "blobs"):
            path.chmod(0o777)
        env = {k: v for k, v in os.environ.items() if not k.startswith("VAULT_")}
        env |= _env(home) | {"LOGNAME": "fg-anna", "USER": "fg-anna"}
        done = subprocess.run(
            [*VAULT, "team", "add", "Team Noord"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            preexec_fn=_as_real_uid,  # one call; no threads of ours run in between
        )
        assert done.returncode == 0, done.stderr
        assert _actors(home, "admin:team:created") == [f"os:uid:{_NO_ACCOUNT_UID}"]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
