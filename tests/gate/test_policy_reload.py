"""`vault policy reload`: a running server swaps in a new engine on SIGHUP; a broken file keeps
the old policy in force; every reload is audited."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from vault.context import Context
from vault.domain import AuditTag
from vault.errors import ConfigError
from vault.models import AuditEntry
from vault.policy import DEFAULT_MODEL_PATH, DEFAULT_POLICY_PATH, PolicyHolder
from vault.runtime import Vault
from vault.services.policy_admin import reload_policy


def _reloads(vault: Vault) -> int:
    with vault.db.session() as session:
        return len(
            session.scalars(select(AuditEntry.seq).where(AuditEntry.tag == "system:policy:reload")).all()
        )


def test_broken_policy_file_keeps_the_old_engine(vault: Vault, tmp_path: Path) -> None:
    model, policy = tmp_path / "model.conf", tmp_path / "policy.csv"
    shutil.copyfile(DEFAULT_MODEL_PATH, model)
    shutil.copyfile(DEFAULT_POLICY_PATH, policy)
    vault.policy = PolicyHolder(model, policy)
    before = vault.policy.current
    ctx = Context.system(clock=vault.clock)
    assert reload_policy(vault, ctx) > 0
    assert vault.policy.current is not before  # a new engine was swapped in
    working = vault.policy.current
    policy.write_text(policy.read_text() + "\np, medewerker, read\n")  # a malformed line
    with pytest.raises(ConfigError, match="previous policy stays"):
        reload_policy(vault, ctx)
    assert vault.policy.current is working
    assert _reloads(vault) == 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_cli_reload_signals_the_running_server(vault: Vault) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VAULT_")}
    env.update(
        VAULT_HOME=str(vault.settings.home), VAULT_DATABASE_URL=vault.settings.url.render_as_string(False)
    )
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "vault.cli.main", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        cli = subprocess.run(
            [sys.executable, "-m", "vault.cli.main", "policy", "reload"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert cli.returncode == 0, cli.stderr
        assert f"server {server.pid} told to reload" in cli.stdout
        deadline = time.monotonic() + 15
        while _reloads(vault) == 0 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _reloads(vault) == 1
        assert server.poll() is None  # still serving
        # D16: the request names the operator who asked (the server's entry names only the server)
        with vault.db.session() as session:
            asked = session.scalars(
                select(AuditEntry).where(AuditEntry.tag == str(AuditTag.SYSTEM_POLICY_RELOAD_REQUESTED))
            ).all()
        assert [e.actor_id.startswith("os:") for e in asked] == [True]
        assert json.loads(asked[0].details)["server_pid"] == server.pid
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_cli_reload_without_a_server_says_so(vault: Vault) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VAULT_")}
    env.update(
        VAULT_HOME=str(vault.settings.home), VAULT_DATABASE_URL=vault.settings.url.render_as_string(False)
    )
    cli = subprocess.run(
        [sys.executable, "-m", "vault.cli.main", "policy", "reload"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert cli.returncode == 1
    assert "no running server" in cli.stderr
    with vault.db.session() as session:
        tag = AuditEntry.tag == str(AuditTag.SYSTEM_POLICY_RELOAD_REQUESTED)
        assert session.scalar(select(func.count()).select_from(AuditEntry).where(tag)) == 0
