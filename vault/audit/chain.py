"""Canonical encoding and hash chain of audit entries.

entry_hash = SHA-256(canonical(entry)), where the canonical encoding covers every field except
entry_hash itself — including seq and prev_hash, which links each entry to the one before. The
32-byte entry hash is the Merkle leaf data (see ``vault.audit.checkpoints`` and docs/audit.md).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

__all__ = ["CANONICAL_FIELDS", "GENESIS_HASH", "canonical_bytes", "entry_hash", "format_time"]

GENESIS_HASH = "0" * 64
_PREFIX = b"vault-audit-v1\n"

# The order is part of the format; sort_keys makes it irrelevant for JSON, but the set is fixed.
CANONICAL_FIELDS: tuple[str, ...] = (
    "seq",
    "occurred_at",
    "tag",
    "actor_id",
    "actor_role",
    "actor_org_id",
    "on_behalf_of",
    "access_point",
    "request_id",
    "case_id",
    "object_type",
    "object_id",
    "legal_basis",
    "purpose",
    "decision",
    "rule",
    "break_glass",
    "details",
    "prev_hash",
)


def format_time(value: datetime) -> str:
    """Microsecond UTC ISO form; naive values are UTC (SQLite keeps no zone)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_bytes(fields: Mapping[str, Any]) -> bytes:
    doc: dict[str, Any] = {}
    for name in CANONICAL_FIELDS:
        value = fields[name]
        if name == "occurred_at":
            value = format_time(value)
        elif name == "break_glass":
            value = bool(value)
        doc[name] = value
    return _PREFIX + json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def entry_hash(fields: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_bytes(fields)).hexdigest()
