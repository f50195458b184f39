"""Key/value facts about this vault installation (for example: it holds the demo dataset)."""

from __future__ import annotations

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from vault.models.base import Base

__all__ = ["VaultMeta"]


class VaultMeta(Base):
    __tablename__ = "vault_meta"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text, nullable=False)
