"""Liveness and readiness.

``/healthz`` (liveness) says only that the process answers. ``/readyz`` says whether requests can be
served: every read and every login writes an audit entry first, so the vault is *ready* only when an
audit entry could be written **and reach the disk**. The probe

1. appends an audit entry and rolls it back (``audit_writable``): the audit table, its triggers and
   the chain lock accept a write — without growing the log on every probe;
2. commits a heartbeat (``vault_meta`` key ``readiness.heartbeat``, one row overwritten each time):
   a real, durable write on the same database, connection pool and — on SQLite — the same file and
   write-ahead log as the audit log. A rolled-back write never reaches the disk, so a full or
   read-only filesystem, a lost PostgreSQL primary or a database that refuses commits is caught here;
3. on SQLite, checks the free space of the database's directory (``READY_MIN_FREE_BYTES``): an
   append needs room for its WAL frames before the disk is quite full.

Any failure answers 503 with ``reasons`` — stable codes for the load balancer and the operator:
``database_unreachable``, ``migrations_pending``, ``audit_not_writable``, ``heartbeat_not_durable``,
``disk_low``, ``blob_store_unreachable`` (the document store — the S3 bucket — does not answer).
No driver message is returned (it could echo parameters). Both answer ``HEAD`` as well as ``GET`` (a
load balancer's probe): the same checks, the status and headers without the body.
"""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path
from typing import Final

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from vault import migrate
from vault.audit import record
from vault.audit.queries import set_meta
from vault.context import Context
from vault.domain import AuditTag
from vault.errors import VaultError
from vault.runtime import Vault
from vault.storage import blob_store_ready

router = APIRouter(tags=["health"])
log = structlog.get_logger(__name__)

HEARTBEAT_KEY: Final = "readiness.heartbeat"
# Below this, an SQLite vault reports not ready (the audit log must never be the write that fails).
READY_MIN_FREE_BYTES = 64 * 1024 * 1024


# Load balancers often probe with HEAD; uvicorn sends the status and headers without the body. Each
# probe is a documented GET route and a twin for GET and HEAD outside the schema (registered after it, so
# it only ever answers HEAD): FastAPI would document one route's HEAD as a duplicate of its GET operation.
PROBE_METHODS: Final = ["GET", "HEAD"]


@router.api_route("/healthz", methods=PROBE_METHODS, include_in_schema=False)
@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> dict[str, str]:
    return {"status": "alive"}


class _ProbeRollback(Exception):
    """Raised to roll back the readiness probe's audit write."""


def _audit_writable(vault: Vault) -> bool:
    ctx = Context.system(access_point="readyz", clock=vault.clock)
    try:
        with vault.db.session() as session:
            record(session, ctx, AuditTag.SYSTEM_READINESS_PROBE)
            raise _ProbeRollback
    except _ProbeRollback:
        return True
    except (VaultError, SQLAlchemyError):
        return False


def _heartbeat_durable(vault: Vault) -> bool:
    """Commit the heartbeat row; True when the commit went through."""
    try:
        with vault.db.session() as session:
            # A fresh value each time: an unchanged row would be no write at all.
            set_meta(
                session, HEARTBEAT_KEY, {"at": vault.clock.now().isoformat(), "beat": secrets.token_hex(8)}
            )
    except (VaultError, SQLAlchemyError) as exc:
        log.warning("readiness_heartbeat_failed", error=type(exc).__name__)
        return False
    return True


def _disk_ok(vault: Vault) -> bool:
    if not vault.db.is_sqlite or not vault.db.url.database:
        return True
    directory = Path(vault.db.url.database).resolve().parent
    try:
        return shutil.disk_usage(directory).free >= READY_MIN_FREE_BYTES
    except OSError:
        return False


@router.api_route("/readyz", methods=PROBE_METHODS, include_in_schema=False)
@router.get(
    "/readyz",
    summary="Readiness: database reachable, schema at head, an audit entry can be written durably",
)
def readyz(request: Request) -> JSONResponse:
    vault: Vault = request.app.state.vault
    checks: dict[str, bool] = {}
    reasons: list[str] = []
    try:
        with vault.db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = True
        checks["migrations"] = migrate.is_at_head(vault.db.engine)
    except SQLAlchemyError:
        checks["database"] = False
        checks["migrations"] = False
        reasons.append("database_unreachable")
    if checks["database"] and not checks["migrations"]:
        reasons.append("migrations_pending")
    writable = checks["database"]
    if writable and not _audit_writable(vault):
        writable = False
        reasons.append("audit_not_writable")
    if writable and not _heartbeat_durable(vault):
        writable = False
        reasons.append("heartbeat_not_durable")
    if checks["database"] and not _disk_ok(vault):
        writable = False
        reasons.append("disk_low")
    checks["audit_writable"] = writable
    checks["blob_store"] = blob_store_ready(vault.blobs)  # S3: the bucket answers (HEAD bucket)
    if not checks["blob_store"]:
        reasons.append("blob_store_unreachable")
    if reasons:
        log.warning("not_ready", reasons=reasons)
        return JSONResponse({"status": "not_ready", "checks": checks, "reasons": reasons}, status_code=503)
    return JSONResponse({"status": "ready", "checks": checks}, status_code=200)
