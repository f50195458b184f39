"""ORM models. Import every model module here so ``Base.metadata`` is complete for Alembic."""

from vault.models.audit import AuditEntry
from vault.models.base import Base
from vault.models.meta import VaultMeta

__all__ = ["AuditEntry", "Base", "VaultMeta"]
