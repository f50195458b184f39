"""The gate's refusals made outside a decision (``gate`` re-exports them): ``refuse`` audits a refusal
(ids and rule only) in a transaction of its own and raises it; ``refuse_unless_staff`` refuses every
role but staff before the gate is asked."""

from __future__ import annotations

from typing import NoReturn

from vault.audit import record
from vault.context import Context
from vault.domain import STAFF_ROLES, AuditTag
from vault.domain import Decision as Effect
from vault.errors import Forbidden, VaultError
from vault.runtime import Vault

__all__ = ["refuse", "refuse_unless_staff"]


def refuse(
    vault: Vault, ctx: Context, error: VaultError, *, rule: str, attempted: AuditTag, case_id: str | None
) -> NoReturn:
    """Audit a refusal (ids and rule only) in its own transaction, then raise ``error``."""
    with vault.db.session() as session:
        record(
            session,
            ctx,
            AuditTag.DOSSIER_ACCESS_DENIED,
            case_id=case_id,
            object_type="case",
            object_id=case_id,
            decision=Effect.DENY,
            rule=rule,
            details={"attempted": str(attempted)},
        )
    raise error


def refuse_unless_staff(
    vault: Vault, ctx: Context, case_id: str, *, rule: str, reason: str, attempted: AuditTag
) -> None:
    """Staff's own business on a case (D3, D9): any other role is refused before the gate is asked,
    so the answer is the same whether or not the case exists; audited (ids and ``rule``), then 403."""
    if ctx.role not in STAFF_ROLES:
        refuse(vault, ctx, Forbidden(reason, rule=rule), rule=rule, attempted=attempted, case_id=case_id)
