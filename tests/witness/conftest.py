"""Real witness processes (``vault witness serve``) on free loopback ports, stopped after each test."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from vault.audit.checkpoints import AuditSettings, CheckpointSigner
from vault.runtime import Vault

_START_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class WitnessProcess:
    name: str
    directory: Path
    port: int
    logs: list[str]
    proc: subprocess.Popen[bytes] | None = None
    vkey: str = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def config_entry(self) -> str:
        return f"{self.vkey} {self.url}"

    def start(self) -> None:
        args = [sys.executable, "-m", "vault.cli.main", "witness"]
        made = subprocess.run(
            [*args, "key", "--dir", str(self.directory), "--name", self.name],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert made.returncode == 0, made.stderr
        self.vkey = made.stdout.strip()
        cmd = [*args, "serve", "--dir", str(self.directory), "--host", "127.0.0.1", "--port", str(self.port)]
        for entry in self.logs:
            cmd += ["--log", entry]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + _START_TIMEOUT_S
        for _ in range(600):  # bounded in count and in time
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                raise RuntimeError(f"witness exited: {err[-2000:]}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as r:  # noqa: S310 - loopback
                    if r.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("witness did not start in time")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        if self.proc is not None and self.proc.stderr is not None:
            self.proc.stderr.close()
        self.proc = None


def log_entry(vault: Vault) -> str:
    """``--log`` value for this vault: its origin and checkpoint verifier key."""
    return f"{AuditSettings().origin} {CheckpointSigner.for_vault(vault).verifier_key()}"


@pytest.fixture
def start_witness(tmp_path: Path) -> Iterator[Callable[..., WitnessProcess]]:
    started: list[WitnessProcess] = []

    def start(name: str, logs: list[str]) -> WitnessProcess:
        witness = WitnessProcess(name, tmp_path / f"witness-{len(started)}", free_port(), logs)
        started.append(witness)
        witness.start()
        return witness

    yield start
    for witness in started:
        witness.stop()


@pytest.fixture(autouse=True)
def _no_periodic_checkpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAULT_AUDIT_CHECKPOINT_MINUTES", "0")
    monkeypatch.delenv("VAULT_AUDIT_WITNESSES", raising=False)
    monkeypatch.delenv("VAULT_AUDIT_WITNESS_QUORUM", raising=False)
