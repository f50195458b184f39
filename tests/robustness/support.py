"""Shared pieces of the robustness tests: a real `vault serve` process, live accounts, small helpers."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
import pyotp
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.helpers import API_PASSWORD, ApiUser, create_account
from vault.context import FrozenClock
from vault.domain import Category, OrgType, Role
from vault.models import AuditEntry
from vault.runtime import Vault

VAULT_CLI = [sys.executable, "-m", "vault.cli.main"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def vault_env(vault: Vault, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VAULT_")}
    env["VAULT_HOME"] = str(vault.settings.home)
    env["VAULT_DATABASE_URL"] = vault.settings.url.render_as_string(hide_password=False)
    env["VAULT_PASSWORD_HASHING"] = "fast_insecure_for_tests"
    env["VAULT_COOKIE_SECURE"] = "false"
    env["VAULT_LOG_LEVEL"] = "DEBUG"  # the most verbose the logs get: what the canary scans read
    for name, value in (
        ("VAULT_BLOB_STORE", vault.settings.blob_store_url),  # S3 credentials: the AWS_* environment
        ("VAULT_S3_ENDPOINT", vault.settings.s3_endpoint),
        ("VAULT_S3_REGION", vault.settings.s3_region),
    ):
        if value:
            env[name] = value
    env.update(extra)
    return env


def cli(vault: Vault, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*VAULT_CLI, *args],
        env=vault_env(vault),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@dataclass
class LiveServer:
    """`vault serve` (uvicorn, httptools + uvloop) on 127.0.0.1; stderr (the JSON logs) kept in a file."""

    proc: subprocess.Popen[bytes]
    base_url: str
    stderr_path: Path

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    @property
    def stderr_text(self) -> str:
        return self.stderr_path.read_text(errors="replace")


def start_server(
    vault: Vault, log_dir: Path, *, port: int | None = None, name: str = "server", **env: str
) -> LiveServer:
    """``vault serve`` on 127.0.0.1 in its own process; ``env``: settings beside the vault's own."""
    port = port or free_port()
    stderr_path = log_dir / f"{name}-{uuid.uuid4().hex[:6]}.log"
    with stderr_path.open("wb") as err:
        proc = subprocess.Popen(
            [*VAULT_CLI, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=vault_env(vault, **env),
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    server = LiveServer(proc, f"http://127.0.0.1:{port}", stderr_path)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited early:\n{server.stderr_text[-2000:]}")
        try:
            if httpx.get(f"{server.base_url}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    server.kill()
    raise RuntimeError("the server did not start within 30 s")


@contextmanager
def running_server(vault: Vault, log_dir: Path, **kwargs: object) -> Iterator[LiveServer]:
    server = start_server(vault, log_dir, **kwargs)  # type: ignore[arg-type]
    try:
        yield server
    finally:
        server.stop()


def live_user(
    base_url: str,
    vault: Vault,
    role: Role,
    *,
    team: str | None = None,
    org: tuple[str, OrgType] | None = None,
) -> ApiUser:
    """An account logged in against a live server (its clock is the system clock) with TOTP passed."""
    username, user_id, org_id, secret = create_account(vault, role, team=team, org=org)
    with httpx.Client(base_url=base_url, timeout=30) as http:
        r = http.post("/api/v1/auth/login", json={"username": username, "password": API_PASSWORD})
        assert r.status_code == 200, r.text
        token = r.json()["token"]
        r = http.post(
            "/api/v1/auth/totp/verify",
            headers={"Authorization": f"Bearer {token}"},
            json={"code": pyotp.TOTP(secret).now()},
        )
        assert r.status_code == 200, r.text
        return ApiUser(user_id, r.json()["token"], secret, org_id)


def doc_headers(user: ApiUser, title: str = "Verslag", filename: str = "verslag.txt") -> dict[str, str]:
    return {
        **user.headers,
        "X-Document-Title": quote(title),
        "X-Document-Filename": quote(filename),
        "Content-Type": "text/plain",
    }


def put_doc(
    client: TestClient | httpx.Client,
    user: ApiUser,
    case_id: str,
    data: bytes,
    category: Category = Category.REPORT,
    **names: str,
) -> str:
    r = client.post(
        f"/api/v1/cases/{case_id}/documents",
        params={"category": str(category)},
        content=data,
        headers=doc_headers(user, **names),
    )
    assert r.status_code == 201, r.text
    return str(r.json()["document_id"])


def audit_count(vault: Vault) -> int:
    with vault.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def last_audit(vault: Vault) -> AuditEntry:
    with vault.db.session() as session:
        entry = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).one()
        session.expunge(entry)
        return entry


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


@dataclass
class WebUser:
    client: TestClient
    user_id: str
    username: str
    csrf: str  # the session-bound token of the verified pages


def web_login(
    vault: Vault, clock: FrozenClock, role: Role = Role.MEDEWERKER, *, team: str | None = None
) -> WebUser:
    """A new account logged in through the web forms (password, then TOTP) in its own TestClient."""
    from vault.app import create_app

    username, user_id, _, secret = create_account(vault, role, team=team)
    client = TestClient(create_app(vault), client=("198.51.100.7", 40000))
    page = client.get("/login")
    r = client.post(
        "/login",
        data={"username": username, "password": API_PASSWORD, "csrf_token": csrf_of(page.text)},
        headers={"Sec-Fetch-Site": "same-origin"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    page = client.get("/tweede-factor")
    r = client.post(
        "/tweede-factor",
        data={"code": pyotp.TOTP(secret).at(clock.now()), "csrf_token": csrf_of(page.text)},
        headers={"Sec-Fetch-Site": "same-origin"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    clock.advance(seconds=30)
    csrf = _session_csrf(client)
    return WebUser(client, user_id, username, csrf)


def _session_csrf(client: TestClient) -> str:
    """The verified session's CSRF token, read from a page that carries it (the logout form)."""
    page = client.get("/")
    return csrf_of(page.text)
