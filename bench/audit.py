"""Audit log throughput and verification cost; the last line is one JSON object.

* Append rate with 8 concurrent writers, on SQLite (temp dir) and PostgreSQL (VAULT_TEST_DATABASE_URL,
  or a throwaway cluster from scripts/pg.sh, stopped in ``finally``): through the group-commit writer
  thread (``GroupCommit.run``) and through plain ``record()`` one transaction per entry, next to the same
  database's raw durable single-row insert rate (a plain table, one INSERT+COMMIT per row, 8 threads).
* ``verify_1m_s``: ``verify_log`` over 1,000,000 entries (bulk-inserted with correct chain hashes) on
  SQLite; ``checkpoint_1m_s``: the first signed checkpoint over them; ``checkpoint_extend_s``: the next
  checkpoint after 10,000 more entries (extends the stored tree state).
* ``cosign_1_witness_ms`` / ``cosign_3_witnesses_ms``: median time to sign a checkpoint after 10 new
  entries *and* get it cosigned (consistency proof, POST /add-checkpoint, check, store) by one and by
  three real witness processes (``vault witness serve`` on loopback); ``checkpoint_only_ms`` is the
  same checkpoint without witnesses, measured in the same run.

Every loop is bounded in count and time. Usage: ``.venv/bin/python bench/audit.py [--entries N]``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from vault.audit.chain import canonical_bytes, format_time
from vault.audit.checkpoints import create_checkpoint
from vault.audit.log import record
from vault.audit.verification import verify_log
from vault.config import Settings
from vault.context import Context
from vault.domain import AuditTag
from vault.runtime import Vault
from vault.services.setup import initialise
from vault.transaction import GroupCommit

PROBE = AuditTag.SYSTEM_READINESS_PROBE  # any closed-list tag will do for volume

ROOT = Path(__file__).resolve().parents[1]
THREADS = 8
PER_THREAD_MAX = 1_500
SECONDS_MAX = 4.0


def _threads(work: Callable[[int], int]) -> float:
    """Run ``work(i)`` on 8 threads; each returns how many operations it did. Operations per second."""
    counts = [0] * THREADS

    def run(i: int) -> None:
        counts[i] = work(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return sum(counts) / (time.perf_counter() - start)


def _bounded(op: Callable[[int], None]) -> int:
    deadline = time.perf_counter() + SECONDS_MAX
    n = 0
    while n < PER_THREAD_MAX and time.perf_counter() < deadline:
        op(n)
        n += 1
    return n


def append_rates(vault: Vault) -> dict[str, float]:
    ctx = Context.system(access_point="bench", clock=vault.clock)
    db = vault.db
    with db.engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE bench_raw (id VARCHAR(36) PRIMARY KEY, payload VARCHAR(64) NOT NULL)"
        )

    def raw(i: int) -> int:
        def op(n: int) -> None:
            with db.session() as session:
                session.execute(
                    text("INSERT INTO bench_raw (id, payload) VALUES (:id, :p)"),
                    {"id": str(uuid.uuid4()), "p": "x" * 40},
                )

        return _bounded(op)

    def direct(i: int) -> int:
        def op(n: int) -> None:
            with db.session() as session:
                record(session, ctx, PROBE, object_type="bench", object_id=f"{i}-{n}")

        return _bounded(op)

    group = GroupCommit(db)

    def grouped(i: int) -> int:
        def op(n: int) -> None:
            group.run(lambda session: record(session, ctx, PROBE, object_type="bench", object_id=f"g{i}-{n}"))

        return _bounded(op)

    try:
        raw_rate = _threads(raw)
        direct_rate = _threads(direct)
        group_rate = _threads(grouped)
    finally:
        group.close()
    report = verify_log(vault)
    if not report.ok:
        raise SystemExit(f"append bench broke the chain: {report}")
    return {"raw": raw_rate, "direct": direct_rate, "group": group_rate}


def bulk_entries(db_path: Path, count: int) -> None:
    """Append ``count`` entries with correct chain hashes straight into the SQLite file."""
    conn = sqlite3.connect(db_path, isolation_level=None)
    head = conn.execute("SELECT seq, entry_hash FROM audit_entries ORDER BY seq DESC LIMIT 1").fetchone()
    seq0, prev = (head[0], head[1]) if head else (0, "0" * 64)
    sentinel_time = datetime(2000, 1, 1, tzinfo=UTC)
    sample = {
        "seq": 987654321987,
        "occurred_at": sentinel_time,
        "tag": "dossier:document:read",
        "actor_id": "6f1c9a52-0000-4000-8000-000000000001",
        "actor_role": "medewerker",
        "actor_org_id": None,
        "on_behalf_of": None,
        "access_point": "api",
        "request_id": "SENTINEL_REQUEST_ID",
        "case_id": "SENTINEL_CASE",
        "object_type": "document",
        "object_id": "SENTINEL_OBJECT",
        "legal_basis": "wmo-2015-4.1.1",
        "purpose": None,
        "decision": "allow",
        "rule": "p:staff-team-read",
        "break_glass": False,
        "details": '{"attempted":"dossier:document:read","grant_id":null}',
        "prev_hash": "P" * 64,
    }
    template = canonical_bytes(sample).decode().replace("%", "%%")
    sentinels = {
        "seq": "987654321987",
        "when": format_time(sentinel_time),
        "rid": "SENTINEL_REQUEST_ID",
        "case": "SENTINEL_CASE",
        "obj": "SENTINEL_OBJECT",
        "prev": "P" * 64,
    }
    for key, sentinel in sentinels.items():
        template = template.replace(sentinel, f"%({key})s", 1)
    base = datetime(2026, 1, 1, tzinfo=UTC)
    insert = (
        "INSERT INTO audit_entries (seq, occurred_at, tag, actor_id, actor_role, actor_org_id, on_behalf_of, "
        "access_point, request_id, case_id, object_type, object_id, legal_basis, purpose, decision, rule, "
        "break_glass, details, prev_hash, entry_hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
    )
    sha = hashlib.sha256
    batch: list[tuple[Any, ...]] = []
    conn.execute("BEGIN")
    for i in range(count):
        seq = seq0 + 1 + i
        when = base + timedelta(microseconds=i * 1_000)
        stored = when.strftime("%Y-%m-%d %H:%M:%S.%f")
        rid, case, obj = f"{seq:032x}", f"case-{i % 5000:05d}", f"doc-{i:09d}"
        values = {"seq": seq, "when": format_time(when), "rid": rid, "case": case, "obj": obj, "prev": prev}
        h = sha((template % values).encode()).hexdigest()
        batch.append(
            (
                seq,
                stored,
                sample["tag"],
                sample["actor_id"],
                "medewerker",
                None,
                None,
                "api",
                rid,
                case,
                "document",
                obj,
                sample["legal_basis"],
                None,
                "allow",
                sample["rule"],
                0,
                sample["details"],
                prev,
                h,
            )
        )
        prev = h
        if len(batch) == 20_000:
            conn.executemany(insert, batch)
            batch.clear()
    if batch:
        conn.executemany(insert, batch)
    conn.execute("COMMIT")
    conn.close()


def sqlite_bench(tmp: Path, entries: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    settings = Settings(home=tmp / "append", password_hashing="fast_insecure_for_tests")
    vault = initialise(settings)
    try:
        out["append"] = append_rates(vault)
    finally:
        vault.close()
    settings = Settings(home=tmp / "verify", password_hashing="fast_insecure_for_tests")
    vault = initialise(settings)
    try:
        t = time.perf_counter()
        bulk_entries(Path(settings.url.database or ""), entries)
        out["build_s"] = time.perf_counter() - t
        t = time.perf_counter()
        report = verify_log(vault)
        out["verify_s"] = time.perf_counter() - t
        if not report.ok or report.entries != entries + 1:
            raise SystemExit(f"verify failed on the built log: {report.message()}")
        t = time.perf_counter()
        create_checkpoint(vault)
        out["checkpoint_s"] = time.perf_counter() - t
        bulk_entries(Path(settings.url.database or ""), 10_000)
        t = time.perf_counter()
        create_checkpoint(vault)
        out["checkpoint_extend_s"] = time.perf_counter() - t
        t = time.perf_counter()
        report = verify_log(vault)
        out["verify_with_checkpoints_s"] = time.perf_counter() - t
        if not report.ok:
            raise SystemExit(f"verify failed after checkpoints: {report.message()}")
    finally:
        vault.close()
    return out


def pg_bench(tmp: Path) -> dict[str, float] | None:
    url = os.environ.get("VAULT_TEST_DATABASE_URL")
    pg_dir: str | None = None
    if not url:
        try:
            started = subprocess.run(
                [str(ROOT / "scripts" / "pg.sh"), "start"],
                capture_output=True,
                text=True,
                timeout=120,
                check=True,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        env = dict(
            line.removeprefix("export ").split("=", 1) for line in started.stdout.split() if "=" in line
        )
        url, pg_dir = env.get("VAULT_TEST_DATABASE_URL"), env.get("VAULT_TEST_PG_DIR")
    try:
        if not url:
            return None
        name = f"vault_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            target = make_url(url).set(database=name).render_as_string(hide_password=False)
            fast = "fast_insecure_for_tests"
            vault = initialise(Settings(home=tmp / "pg", database_url=target, password_hashing=fast))
            try:
                return append_rates(vault)
            finally:
                vault.close()
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    finally:
        if pg_dir:
            subprocess.run(
                [str(ROOT / "scripts" / "pg.sh"), "stop", pg_dir], capture_output=True, timeout=120
            )


COSIGN_ROUNDS = 20
COSIGN_SECONDS_MAX = 20.0


def _start_witness(directory: Path, log: str) -> tuple[subprocess.Popen[bytes], str]:
    """A real witness process on a free loopback port: (process, VAULT_AUDIT_WITNESSES entry)."""
    import socket
    import urllib.request

    args = [sys.executable, "-m", "vault.cli.main", "witness"]
    vkey = subprocess.run(
        [*args, "key", "--dir", str(directory), "--name", f"{directory.name}.bench/witness"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.strip()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cmd = [*args, "serve", "--dir", str(directory), "--port", str(port), "--log", log]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    for _ in range(600):
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1):  # noqa: S310 - loopback
                return proc, f"{vkey} {url}"
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                break
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("witness did not start")


def cosign_bench(tmp: Path) -> dict[str, float]:
    """Median checkpoint (+ cosign) latency with no, one and three witnesses, bounded in rounds and time."""
    from vault.audit.checkpoints import AuditSettings, CheckpointSigner
    from vault.witness.client import configured_witnesses, publish_checkpoint

    settings = Settings(home=tmp / "cosign", password_hashing="fast_insecure_for_tests")
    vault = initialise(settings)
    procs: list[subprocess.Popen[bytes]] = []
    ctx = Context.system(access_point="bench", clock=vault.clock)
    try:
        log = f"{AuditSettings().origin} {CheckpointSigner.for_vault(vault).verifier_key()}"
        entries = []
        for i in range(3):
            proc, entry = _start_witness(tmp / f"w{i}", log)
            procs.append(proc)
            entries.append(entry)
        os.environ["VAULT_AUDIT_WITNESSES"] = ",".join(entries)
        endpoints = configured_witnesses()
        out: dict[str, float] = {}
        for label, witnesses in (("none", []), ("one", endpoints[:1]), ("three", endpoints)):
            times: list[float] = []
            deadline = time.monotonic() + COSIGN_SECONDS_MAX
            for _ in range(COSIGN_ROUNDS):
                with vault.db.session() as session:
                    for _n in range(10):
                        record(session, ctx, PROBE)
                t = time.perf_counter()
                info = create_checkpoint(vault)
                if witnesses:
                    result = publish_checkpoint(vault, info, witnesses=witnesses, quorum=len(witnesses))
                    if not result.published:
                        raise SystemExit(f"cosigning failed: {result.results}")
                times.append(time.perf_counter() - t)
                if time.monotonic() > deadline:
                    break
            times.sort()
            out[label] = times[len(times) // 2] * 1000
        return out
    finally:
        os.environ.pop("VAULT_AUDIT_WITNESSES", None)
        for proc in procs:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        vault.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=1_000_000)
    args = parser.parse_args()
    entries = max(1, min(args.entries, 5_000_000))
    with tempfile.TemporaryDirectory(prefix="vault-bench-audit-") as tmp:
        sq = sqlite_bench(Path(tmp), entries)
        pg = pg_bench(Path(tmp))
        cosign = cosign_bench(Path(tmp))
    app = sq["append"]
    print(f"sqlite: {json.dumps(sq)}", file=sys.stderr)
    print(f"postgresql: {json.dumps(pg)}", file=sys.stderr)
    print(f"cosign: {json.dumps(cosign)}", file=sys.stderr)
    sqlite_ratio = app["group"] / app["raw"]
    result = {
        "bench": "audit",
        "entries": entries,
        "sqlite_append_per_s": round(app["group"], 1),
        "sqlite_append_direct_per_s": round(app["direct"], 1),
        "sqlite_raw_per_s": round(app["raw"], 1),
        "sqlite_ratio": round(sqlite_ratio, 3),
        "pg_append_per_s": round(pg["group"], 1) if pg else None,
        "pg_append_direct_per_s": round(pg["direct"], 1) if pg else None,
        "pg_raw_per_s": round(pg["raw"], 1) if pg else None,
        "pg_ratio": round(pg["group"] / pg["raw"], 3) if pg else None,
        "verify_1m_s": round(sq["verify_s"], 2),
        "checkpoint_1m_s": round(sq["checkpoint_s"], 2),
        "checkpoint_extend_10k_s": round(sq["checkpoint_extend_s"], 3),
        "verify_1m_with_checkpoints_s": round(sq["verify_with_checkpoints_s"], 2),
        "checkpoint_only_ms": round(cosign["none"], 2),
        "cosign_1_witness_ms": round(cosign["one"], 2),
        "cosign_3_witnesses_ms": round(cosign["three"], 2),
        "baseline": round(app["raw"], 1),
        "ratio": round(min(sqlite_ratio, pg["group"] / pg["raw"]) if pg else sqlite_ratio, 3),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
