"""The test suite's cheap hashing profile never weakens real accounts: a stored hash is replaced after a
login only by a stronger one (memory or time cost higher, neither lower), and `vault serve` refuses the
profile for a server that could be a deployment (a non-loopback address, or secure cookies on), and
warns loudly for the local plain-HTTP server the tests start."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from argon2 import PasswordHasher, Type
from sqlalchemy import select

from tests.auth.conftest import Account
from tests.foundation.test_cli import _env, run_cli
from tests.robustness.support import free_port, start_server
from vault.auth import AuthConfig, PasswordHashing
from vault.context import Context
from vault.models import User
from vault.runtime import Vault
from vault.services import authentication
from vault.transaction import transaction

_REAL = PasswordHashing("rfc9106_low_memory")  # m=65536, t=3, p=4
_FAST = PasswordHashing("fast_insecure_for_tests")  # m=8, t=1, p=1


def _stored_hash(vault: Vault, user_id: str) -> str:
    with vault.db.session() as session:
        return session.scalars(select(User.password_hash).where(User.id == user_id)).one()


def _argon2(memory_cost: int, time_cost: int, parallelism: int = 1, variant: Type = Type.ID) -> str:
    hasher = PasswordHasher(
        memory_cost=memory_cost, time_cost=time_cost, parallelism=parallelism, type=variant
    )
    return hasher.hash("correct horse battery staple")


def test_a_login_on_a_node_with_the_test_profile_keeps_the_strong_stored_hash(
    vault: Vault, anna: Account
) -> None:
    strong = _REAL.hash(anna.password)
    with transaction(vault.db) as session:
        user = session.get(User, anna.user_id)
        assert user is not None
        user.password_hash = strong
    auth = replace(AuthConfig.from_vault(vault), hashing=_FAST)  # what the tests' vault runs with
    ctx = Context(actor_id=None, role=None, access_point="api", clock=vault.clock)
    with transaction(vault.db) as session:
        authentication.login(
            session, ctx, auth, username=anna.username, password=anna.password, client_address="192.0.2.1"
        )
    assert _stored_hash(vault, anna.user_id) == strong


def test_a_stored_hash_is_rehashed_only_when_the_configured_parameters_are_stronger() -> None:
    # configured profile, stored (memory cost, time cost, parallelism, variant), rehash?
    cases = [
        (_FAST, (16, 1, 1, Type.ID), False),  # more memory: kept
        (_FAST, (8, 2, 1, Type.ID), False),  # more time: kept
        (_FAST, (65536, 3, 4, Type.ID), False),  # the real profile on a test-profile node: kept
        (_REAL, (131072, 1, 1, Type.ID), False),  # more memory, less time: not clearly weaker, kept
        (_REAL, (65536, 4, 4, Type.ID), False),
        (_REAL, (8, 1, 1, Type.ID), True),  # the test profile on a real node: upgraded
        (_REAL, (65536, 2, 4, Type.ID), True),  # less time, same memory: upgraded
        (_REAL, (32768, 3, 4, Type.ID), True),
        (_FAST, (8, 1, 1, Type.I), True),  # same costs, another variant: argon2's own check
    ]
    for configured, (memory, time, lanes, variant), expected in cases:
        stored = _argon2(memory, time, lanes, variant)
        assert configured.needs_rehash(stored) is expected, (configured.profile, stored[:30])
    assert not _REAL.needs_rehash(_REAL.hash("correct horse battery staple"))


@contextmanager
def _port_taken() -> Iterator[int]:
    """A port already listened on: a server that is not refused fails to bind it and stops at once,
    instead of serving on (the refusal must come first, before any port is bound)."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", free_port()))
        taken.listen()
        yield int(taken.getsockname()[1])


def _refused(proc_stderr: str) -> None:
    lines = [line for line in proc_stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc_stderr
    assert lines[0].startswith("error: VAULT_PASSWORD_HASHING: fast_insecure_for_tests is for the test suite")
    assert "Traceback" not in proc_stderr


def test_serve_refuses_the_test_profile_off_loopback_or_with_secure_cookies(
    tmp_path: Path, database_url: str
) -> None:
    env = _env(tmp_path / "home", database_url)  # VAULT_COOKIE_SECURE left at its default, true
    assert run_cli(["init"], env).returncode == 0
    plain_http = env | {"VAULT_COOKIE_SECURE": "false"}
    for host, settings in (("0.0.0.0", plain_http), ("127.0.0.1", env)):  # noqa: S104
        with _port_taken() as port:
            proc = run_cli(["serve", "--host", host, "--port", str(port)], settings, timeout=60)
        assert proc.returncode == 2, (host, proc.stderr)
        _refused(proc.stderr)


def test_the_local_test_server_with_the_test_profile_warns_loudly(vault: Vault, tmp_path: Path) -> None:
    server = start_server(vault, tmp_path)  # 127.0.0.1, VAULT_COOKIE_SECURE=false, the test profile
    server.stop()
    assert "warning: VAULT_PASSWORD_HASHING=fast_insecure_for_tests" in server.stderr_text
