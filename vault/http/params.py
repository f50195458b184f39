"""Path and query parameters both entry points take: ids are UUIDs, checked before any route runs."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

__all__ = ["UUID_PATTERN", "CaseId", "DocumentId"]

UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
CaseId = Annotated[str, Path(pattern=UUID_PATTERN, max_length=36, description="Case id (UUID)")]
DocumentId = Annotated[str, Path(pattern=UUID_PATTERN, max_length=36, description="Document id (UUID)")]
