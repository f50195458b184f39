"""Initialising an installation."""

from __future__ import annotations

from sqlalchemy import select

from vault.audit import record
from vault.config import Settings
from vault.context import Clock, Context
from vault.domain import AuditTag
from vault.models import AuditEntry
from vault.runtime import Vault, init_vault

__all__ = ["initialise"]


def initialise(settings: Settings, *, clock: Clock | None = None) -> Vault:
    """``vault init``: idempotent; the first run leaves a ``system:vault:init`` audit entry."""
    vault = init_vault(settings, clock=clock)
    with vault.db.session() as session:
        already = session.execute(
            select(AuditEntry.seq).where(AuditEntry.tag == AuditTag.SYSTEM_VAULT_INIT).limit(1)
        ).first()
        if already is None:
            record(session, Context.system(clock=vault.clock), AuditTag.SYSTEM_VAULT_INIT)
    return vault
