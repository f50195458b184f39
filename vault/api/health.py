"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from vault import migrate
from vault.audit import record
from vault.context import Context
from vault.errors import VaultError
from vault.runtime import Vault

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> dict[str, str]:
    return {"status": "alive"}


class _ProbeRollback(Exception):
    """Raised to roll back the readiness probe's audit write."""


def _audit_writable(vault: Vault) -> bool:
    ctx = Context.system(access_point="readyz", clock=vault.clock)
    try:
        with vault.db.session() as session:
            record(session, ctx, "system:readiness:probe")
            raise _ProbeRollback
    except _ProbeRollback:
        return True
    except (VaultError, SQLAlchemyError):
        return False


@router.get("/readyz", summary="Readiness: database reachable, schema at head, audit log writable")
def readyz(request: Request) -> JSONResponse:
    vault: Vault = request.app.state.vault
    checks: dict[str, bool] = {}
    try:
        with vault.db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = True
        checks["migrations"] = migrate.is_at_head(vault.db.engine)
    except SQLAlchemyError:
        checks["database"] = False
        checks["migrations"] = False
    checks["audit_writable"] = checks["database"] and _audit_writable(vault)
    ready = all(checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not_ready", "checks": checks}, status_code=200 if ready else 503
    )
