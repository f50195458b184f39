"""The reference oracle: recompute the hash chain entry by entry with the ORM, naming the first bad entry.

Deliberately simple and slow (it re-encodes every entry through `entry_hash`); the vault's own
`vault.audit.verification.verify_log` is checked against it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vault.audit.chain import CANONICAL_FIELDS, GENESIS_HASH, entry_hash
from vault.models.audit import AuditEntry

__all__ = ["ChainReport", "verify_chain"]


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    entries: int
    head_hash: str
    first_bad_seq: int | None = None
    reason: str | None = None


def verify_chain(session: Session, *, batch_size: int = 10_000) -> ChainReport:
    """Walk the whole log in order. Gaps (deleted entries), broken links and altered fields fail."""
    columns = [getattr(AuditEntry, name) for name in (*CANONICAL_FIELDS, "entry_hash")]
    result = session.execute(
        select(*columns).order_by(AuditEntry.seq).execution_options(yield_per=batch_size)
    )
    expected_seq = 1
    prev = GENESIS_HASH
    count = 0
    for row in result:
        fields: dict[str, Any] = row._asdict()
        seq = fields["seq"]
        if seq != expected_seq:
            return ChainReport(False, count, prev, expected_seq, f"entry {expected_seq} is missing")
        if fields["prev_hash"] != prev:
            return ChainReport(False, count, prev, seq, "link to the previous entry is broken")
        recomputed = entry_hash(fields)
        if recomputed != fields["entry_hash"]:
            return ChainReport(False, count, prev, seq, "entry content does not match its hash")
        prev = recomputed
        expected_seq += 1
        count += 1
    return ChainReport(True, count, prev)
