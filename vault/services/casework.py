"""Shared plumbing of the case services: a gated write whose domain rules may still refuse.

``gated_write`` is ``pass_gate`` with ``Action.WRITE``: policy decision, audit entry and the write
commit together. A domain rule checked inside the write (D2 consent, D3 pseudonym only, D4 approvals,
a wrong case kind) raises ``RuleRefused``: the transaction rolls back (so no "allow" entry survives)
and the refusal is audited in its own transaction, then raised — the same shape as a policy denial.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NoReturn, TypeVar

from sqlalchemy.orm import Session

from vault.audit import record
from vault.context import Context
from vault.domain import Action, AuditTag, Category
from vault.domain import Decision as Effect
from vault.errors import VaultError
from vault.runtime import Vault
from vault.services.gate import AccessRequest, Admission, pass_gate

__all__ = ["RuleRefused", "gated_write", "refuse"]

T = TypeVar("T")


class RuleRefused(Exception):
    """A domain rule refused the write; ``rule`` goes into the audit entry."""

    def __init__(self, error: VaultError, rule: str) -> None:
        super().__init__(error.message)
        self.error = error
        self.rule = rule


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


def gated_write(
    vault: Vault,
    ctx: Context,
    case_id: str,
    *,
    category: Category | None,
    tag: AuditTag,
    object_type: str,
    object_id: str | None,
    then: Callable[[Session, Admission], T],
    purpose: str | None = None,
) -> T:
    try:
        return pass_gate(
            vault,
            ctx,
            AccessRequest(case_id, Action.WRITE, category=category, purpose=purpose),
            tag=tag,
            object_type=object_type,
            object_id=object_id,
            then=then,
        )
    except RuleRefused as refused:
        refuse(vault, ctx, refused.error, rule=refused.rule, attempted=tag, case_id=case_id)
