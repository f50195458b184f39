"""ORM models. Import every model module here so ``Base.metadata`` is complete for Alembic."""

from vault.models.audit import AuditEntry
from vault.models.base import Base
from vault.models.case import Case, CaseAssignment, CaseKey
from vault.models.document import Document, DocumentVersion
from vault.models.grant import Grant, GrantItem
from vault.models.identity import (
    AuthAttempt,
    AuthSession,
    Organisation,
    RecoveryCode,
    Team,
    TeamMembership,
    TotpFactor,
    User,
)
from vault.models.meta import VaultMeta

__all__ = [
    "AuditEntry",
    "AuthAttempt",
    "AuthSession",
    "Base",
    "Case",
    "CaseAssignment",
    "CaseKey",
    "Document",
    "DocumentVersion",
    "Grant",
    "GrantItem",
    "Organisation",
    "RecoveryCode",
    "Team",
    "TeamMembership",
    "TotpFactor",
    "User",
    "VaultMeta",
]
