"""One server per VAULT_HOME: a second `vault serve` on the same home is refused and overwrites
nothing, so `vault policy reload` keeps reaching the server that serves; a stale pid file is replaced;
with `--workers N` the pid file names uvicorn's supervisor, which every worker shares."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.robustness.support import VAULT_CLI, cli, free_port, vault_env
from vault.errors import Conflict
from vault.runtime import Vault
from vault.services.policy_admin import claim_pidfile, pidfile, remove_pidfile, signal_servers

# A process whose command line reads like `vault <args>` (the program is a file named `vault`).
_SLEEPER = "import time; time.sleep(60)"


def _pid_in_file(vault: Vault) -> int:
    return int(pidfile(vault.settings.resolved_home).read_text())


@pytest.fixture
def looks_like() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        proc.kill()
        proc.wait(timeout=10)


def _process(started: list[subprocess.Popen[bytes]], *args: str) -> int:
    proc = subprocess.Popen([sys.executable, "-c", _SLEEPER, *args])
    started.append(proc)
    deadline = time.monotonic() + 10
    while _SLEEPER.encode() not in Path(f"/proc/{proc.pid}/cmdline").read_bytes():  # not yet exec'd
        assert time.monotonic() < deadline
        time.sleep(0.01)
    return proc.pid


def _wait_until_serving(proc: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + 120  # generous: a loaded CI machine starts a server slowly
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the server exited early"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("the server did not start within 120 s")


def _serve(vault: Vault, port: int, stderr: Path, *extra: str) -> subprocess.Popen[bytes]:
    with stderr.open("wb") as err:  # a file, not a pipe: a full pipe would stall the server's logging
        return subprocess.Popen(
            [*VAULT_CLI, "serve", "--host", "127.0.0.1", "--port", str(port), *extra],
            env=vault_env(vault),
            stdout=subprocess.DEVNULL,
            stderr=err,
        )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def test_a_second_server_on_the_same_home_is_refused_and_reload_reaches_the_first(
    vault: Vault, tmp_path: Path
) -> None:
    port = free_port()
    first = _serve(vault, port, tmp_path / "first.log")
    try:
        _wait_until_serving(first, port)
        assert _pid_in_file(vault) == first.pid
        second = cli(vault, "serve", "--host", "127.0.0.1", "--port", str(free_port()))
        assert second.returncode == 1
        refusal = [line for line in second.stderr.splitlines() if line.startswith("error:")]
        assert refusal == [
            f"error: another vault server (pid {first.pid}) already serves "
            f"{vault.settings.resolved_home}; stop it first, or give this one a VAULT_HOME of its own"
        ]
        assert "Traceback" not in second.stderr
        assert _pid_in_file(vault) == first.pid  # nothing overwritten, nothing removed
        reload = cli(vault, "policy", "reload")
        assert reload.returncode == 0, reload.stderr
        assert f"server {first.pid} told to reload" in reload.stdout
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
    finally:
        _stop(first)
    assert not pidfile(vault.settings.resolved_home).exists()  # the first removes its own file


def test_two_servers_starting_at_once_leave_exactly_one_serving(vault: Vault, tmp_path: Path) -> None:
    ports = [free_port(), free_port()]
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    servers = [_serve(vault, port, log) for port, log in zip(ports, logs, strict=True)]
    try:
        deadline = time.monotonic() + 60
        while sum(s.poll() is None for s in servers) == 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        refused = [s for s in servers if s.poll() is not None]
        serving = [s for s in servers if s.poll() is None]
        assert len(refused) == 1
        assert len(serving) == 1
        assert refused[0].returncode == 1
        assert "error: another vault server" in logs[servers.index(refused[0])].read_text()
        _wait_until_serving(serving[0], ports[servers.index(serving[0])])
        assert _pid_in_file(vault) == serving[0].pid
    finally:
        for server in servers:
            _stop(server)


def test_with_workers_the_pid_file_names_the_supervisor_and_reload_reaches_it(
    vault: Vault, tmp_path: Path
) -> None:
    port = free_port()
    supervisor = _serve(vault, port, tmp_path / "supervisor.log", "--workers", "2")
    try:
        _wait_until_serving(supervisor, port)
        assert _pid_in_file(vault) == supervisor.pid  # not a worker: every worker claims for its parent
        reload = cli(vault, "policy", "reload")
        assert reload.returncode == 0, reload.stderr
        assert f"server {supervisor.pid} told to reload" in reload.stdout
        second = cli(vault, "serve", "--host", "127.0.0.1", "--port", str(free_port()))
        assert second.returncode == 1
        assert f"another vault server (pid {supervisor.pid})" in second.stderr
        workers = cli(vault, "serve", "--host", "127.0.0.1", "--port", str(free_port()), "--workers", "2")
        assert workers.returncode == 1, workers.stderr  # refused before a port is bound, not exit 0
        assert _pid_in_file(vault) == supervisor.pid
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
    finally:
        _stop(supervisor)
    assert not (vault.settings.resolved_home / "server.pid").exists(), "removed when the server stops"


def test_a_live_vault_server_in_the_pid_file_refuses_the_claim(
    vault: Vault, looks_like: list[subprocess.Popen[bytes]]
) -> None:
    home = vault.settings.resolved_home
    server = _process(looks_like, "vault", "--debug", "serve", "--port", "1")
    claim_pidfile(home, server)
    with pytest.raises(Conflict, match=f"pid {server}"):
        claim_pidfile(home, os.getpid())
    assert _pid_in_file(vault) == server


def test_a_stale_pid_file_is_replaced(vault: Vault, looks_like: list[subprocess.Popen[bytes]]) -> None:
    home = vault.settings.resolved_home
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait(timeout=30)
    candidates = {
        "a dead process": dead.pid,
        "an unrelated process": _process(looks_like),
        "another vault command": _process(looks_like, "vault", "audit", "verify"),
        "the witness's server": _process(looks_like, "vault", "witness", "serve"),
    }
    for holder in candidates.values():
        pidfile(home).write_text(f"{holder}\n")
        assert signal_servers(home) is None  # none of them is told to reload
        claim_pidfile(home, os.getpid())
        assert _pid_in_file(vault) == os.getpid()
    assert [p.name for p in home.iterdir() if p.name.startswith("server.pid")] == ["server.pid"]


def test_a_server_removes_the_pid_file_only_while_it_names_the_server_itself(vault: Vault) -> None:
    home = vault.settings.resolved_home
    pidfile(home).write_text(f"{os.getpid() + 1}\n")
    remove_pidfile(home)
    assert pidfile(home).exists()
    claim_pidfile(home, os.getpid())
    claim_pidfile(home, os.getpid())  # claiming again (another worker of the same server) is a no-op
    remove_pidfile(home)
    assert not pidfile(home).exists()
