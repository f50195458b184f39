"""Full verification of the audit log, and the cheap integrity status shown to the privacy officer.

``verify_log`` walks the whole log once: the hash chain (gaps, links, entry hashes) *and* the Merkle
root at every stored checkpoint, whose signatures it checks first. An attacker who rewrites an entry
and recomputes every later hash keeps the chain consistent but cannot re-sign the checkpoints — and
one who holds the vault's key and re-signs them cannot redo the witnesses' cosignatures: every stored
cosignature must still verify over its checkpoint's note as stored now.

Entries after the latest checkpoint are signed by nothing yet: what the last passing full verification
read (``LAST_VERIFY_KEY``: its count and the hash of the entry it ended on, ``last_passed``) vouches
for them. A log shorter than that count, or whose entry at that count is another one, is broken —
both for ``verify_log`` and for ``integrity_status`` — and a failed verification keeps that record.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from sqlalchemy.engine import Connection

from vault.audit import queries
from vault.audit.chain import GENESIS_HASH
from vault.audit.checkpoints import CheckpointInfo, CheckpointSigner, confirm_last_leaf, trusted_state
from vault.audit.log import record
from vault.audit.merkle import CompactRange
from vault.audit.note import Checkpoint
from vault.audit.walk import Batches, ChainWalk, scan
from vault.context import Context
from vault.domain import AuditTag
from vault.errors import Integrity
from vault.models import AuditCheckpoint
from vault.runtime import Vault
from vault.witness.client import (
    WitnessEndpoint,
    configured_witnesses,
    fork_problems,
    rewritten_after_witnessing,
    stored_cosignatures,
)

__all__ = [
    "LAST_VERIFY_KEY",
    "RECHECK_LIMIT",
    "IntegrityState",
    "IntegrityStatus",
    "LogReport",
    "integrity_status",
    "record_verification",
    "verify_log",
]

LAST_VERIFY_KEY: Final = "audit.last_full_verify"


@dataclass(frozen=True)
class LogReport:
    """The outcome of a full verification. ``first_bad_seq`` names the first entry that fails the
    chain; a checkpoint mismatch names the checkpoint and the narrowest range of entries that must
    hold the first altered one (``suspect_from``..``suspect_to``)."""

    ok: bool
    entries: int
    head_hash: str
    checkpoints: int
    first_bad_seq: int | None = None
    reason: str | None = None
    bad_checkpoint: int | None = None
    suspect_from: int | None = None
    suspect_to: int | None = None

    def message(self) -> str:
        if self.ok:
            return (
                f"audit log intact: {self.entries} entries, {self.checkpoints} signed checkpoints, "
                f"head {self.head_hash[:16]}"
            )
        if self.bad_checkpoint is not None:
            where = (
                f"; the first altered entry is between seq {self.suspect_from} and {self.suspect_to}"
                if self.suspect_from is not None
                else ""
            )
            return f"audit log does not match signed checkpoint {self.bad_checkpoint}: {self.reason}{where}"
        at = "" if self.first_bad_seq is None else f" at entry {self.first_bad_seq}"
        return f"audit log broken{at}: {self.reason}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "head_hash": self.head_hash,
            "checkpoints": self.checkpoints,
            "first_bad_seq": self.first_bad_seq,
            "reason": self.reason,
            "bad_checkpoint": self.bad_checkpoint,
            "suspect_from": self.suspect_from,
            "suspect_to": self.suspect_to,
        }


def _subtree_heights(size: int) -> list[int]:
    return [bit for bit in range(size.bit_length() - 1, -1, -1) if size >> bit & 1]


def _locate(stored: bytes, recomputed: CompactRange, signed_root: bytes, floor: int) -> tuple[int, int]:
    """Narrow the first altered entry using the stored subtree roots, if they hash to the signed root."""
    lo, hi = floor, recomputed.size
    try:
        state = CompactRange.from_bytes(stored)
    except Integrity:
        return lo, hi
    if state.size != recomputed.size or not hmac.compare_digest(state.root(), signed_root):
        return lo, hi
    offset = 0
    for height, ours, theirs in zip(
        _subtree_heights(state.size), recomputed.subtree_roots, state.subtree_roots, strict=True
    ):
        width = 1 << height
        if not hmac.compare_digest(ours, theirs):
            return max(lo, offset + 1), offset + width
        offset += width
    return lo, hi


def _counted(batches: Iterable[list[Any]], progress: Callable[[int], None]) -> Iterator[list[Any]]:
    done = 0
    for batch in batches:
        yield batch
        done += len(batch)
        progress(done)


def _unwitnessed(conn: Connection, row: AuditCheckpoint, witnesses: list[WitnessEndpoint]) -> str | None:
    """Why the stored cosignatures of checkpoint ``row`` do not hold, or None when they all verify."""
    if not witnesses:
        return None
    broken = stored_cosignatures(conn, row.size, row.note, witnesses).broken
    return None if not broken else rewritten_after_witnessing(broken[0].key.name, row.size)


@dataclass(frozen=True)
class _Passed:
    """What the last *passing* full verification read: ``entries`` entries, the last with hash
    ``head_hash`` (None in a record written before the hash was kept: the count alone is compared)."""

    entries: int
    head_hash: str | None
    at: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"entries": self.entries, "head_hash": self.head_hash, "at": self.at}


def _last_passed(record: dict[str, Any] | None) -> _Passed | None:
    """The extent the last passing full verification vouched for, from the stored record: its
    ``last_passed`` (carried over a failed verification), else an older record's own count if it
    passed."""
    if not record:
        return None
    passed = record.get("last_passed")
    if not isinstance(passed, dict):
        passed = record if record.get("ok") is True else None
    if passed is None:
        return None
    entries, head, at = passed.get("entries"), passed.get("head_hash"), passed.get("at")
    if not isinstance(entries, int) or isinstance(entries, bool) or entries <= 0:
        return None
    return _Passed(
        entries, head if isinstance(head, str) and head else None, at if isinstance(at, str) else None
    )


def _passed_problem(conn: Connection, passed: _Passed | None, head: int) -> tuple[int, str] | None:
    """Where and why the log no longer holds what the last passing full verification read: fewer
    entries, or another entry at its count (removed and written again). None when it still does."""
    if passed is None:
        return None
    if head < passed.entries:
        return head + 1, (
            f"the log holds {head} entries, fewer than the {passed.entries} the last full verification read"
        )
    if passed.head_hash is None:
        return None
    row = queries.entry_by_seq(conn, passed.entries)
    if row is None or not hmac.compare_digest(str(row["entry_hash"]), passed.head_hash):
        return passed.entries, (
            f"entry {passed.entries} is not the one the last full verification ended on "
            "(the entries after it were removed or replaced)"
        )
    return None


def verify_log(
    vault: Vault, *, signer: CheckpointSigner | None = None, progress: Callable[[int], None] | None = None
) -> LogReport:
    """Recompute the chain and the Merkle root at every signed checkpoint, in one pass.

    ``progress``, when given, is called with the number of entries read so far after each batch (the
    privacy officer's background verification shows it). A stored cosignature of a configured
    witness that no longer verifies over its checkpoint fails the verification at that checkpoint:
    the log was rewritten (and re-signed with the vault's own key) after it was witnessed. So does a
    witness holding a checkpoint the vault lacks (``fork_problems``): the log was cut back or forked."""
    signer = signer or CheckpointSigner.for_vault(vault)
    witnesses = configured_witnesses()
    # ``closing``: a report returned half-way closes the scan's cursor before its connection.
    with (
        queries.read_snapshot(vault.db) as conn,
        closing(queries.iter_scan_batches(conn)) as scan,
    ):
        checkpoints = queries.all_checkpoints(conn)
        signed: list[tuple[AuditCheckpoint, Checkpoint]] = []
        for row in checkpoints:
            try:
                signed.append((row, signer.open(row)))
            except Integrity as exc:
                return LogReport(
                    False, 0, GENESIS_HASH, len(checkpoints), reason=exc.message, bad_checkpoint=row.size
                )
        # Checked before the scan starts (its cursor then has the connection to itself).
        unwitnessed = {row.size: _unwitnessed(conn, row, witnesses) for row, _ in signed}
        forks = fork_problems(conn, witnesses)
        cut = _passed_problem(
            conn, _last_passed(queries.get_meta(conn, LAST_VERIFY_KEY)), queries.head_seq(conn)
        )
        walk = ChainWalk(CompactRange(), GENESIS_HASH, 1)
        rows = Batches(scan if progress is None else _counted(scan, progress))
        good_floor = 1
        for row, cp in signed:
            if not walk.feed_full(rows, stop_at=cp.size):
                break
            if walk.state.size < cp.size:
                return LogReport(
                    False,
                    walk.state.size,
                    walk.prev,
                    len(signed),
                    first_bad_seq=walk.expected,
                    reason=f"the log ends before signed checkpoint {cp.size}",
                    bad_checkpoint=cp.size,
                )
            if not hmac.compare_digest(walk.state.root(), cp.root_hash):
                lo, hi = _locate(row.tree_state, walk.state, cp.root_hash, good_floor)
                return LogReport(
                    False,
                    walk.state.size,
                    walk.prev,
                    len(signed),
                    reason="Merkle root differs from the signed root",
                    bad_checkpoint=cp.size,
                    suspect_from=lo,
                    suspect_to=hi,
                )
            if unwitnessed[cp.size] is not None:
                return LogReport(
                    False,
                    walk.state.size,
                    walk.prev,
                    len(signed),
                    reason=unwitnessed[cp.size],
                    bad_checkpoint=cp.size,
                )
            good_floor = cp.size + 1
        else:
            walk.feed_full(rows)
    if walk.bad_seq is not None:
        return LogReport(
            False,
            walk.expected - 1,
            walk.prev,
            len(signed),
            first_bad_seq=walk.bad_seq,
            reason=walk.bad_reason,
        )
    if cut is not None:  # the log checks out, but lacks what the last full verification read
        return LogReport(False, walk.state.size, walk.prev, len(signed), first_bad_seq=cut[0], reason=cut[1])
    if forks:  # the log checks out, but a witness holds a larger history the vault no longer has
        return LogReport(False, walk.state.size, walk.prev, len(signed), reason=next(iter(forks.values())))
    return LogReport(True, walk.state.size, walk.prev, len(signed))


def record_verification(vault: Vault, ctx: Context, report: LogReport) -> None:
    """Keep the result (for ``integrity_status``) and audit that a full verification ran.

    ``last_passed`` is what the latest passing verification read: this one's count and head hash
    when it passed, else the previous record's, carried over — a failed verification (say, of a log
    cut back) never replaces the evidence of what the log held with a shorter or different extent."""
    at = ctx.now().isoformat()
    with vault.db.session() as session:
        before = _last_passed(queries.get_meta(session, LAST_VERIFY_KEY))
        passed = _Passed(report.entries, report.head_hash, at) if report.ok else before
        if passed is not None and before is not None and before.entries > passed.entries:
            passed = before  # passed over an older snapshot than the record's (and finished later)
        queries.set_meta(
            session,
            LAST_VERIFY_KEY,
            {**report.as_dict(), "at": at, "last_passed": None if passed is None else passed.as_dict()},
        )
        record(
            session,
            ctx,
            AuditTag.AUDIT_LOG_VERIFIED,
            object_type="audit_log",
            details={
                "ok": report.ok,
                "entries": report.entries,
                "first_bad_seq": report.first_bad_seq,
                "bad_checkpoint": report.bad_checkpoint,
            },
        )


@dataclass(frozen=True)
class IntegrityStatus:
    """A cheap check: the latest checkpoint's signature, stored state and stored cosignatures, that its
    last leaf is still the entry it signed, no witness holding a checkpoint the vault lacks, and the
    content and chain of every entry the last *full* verification did not read.

    A checkpoint signs the stored entry hashes, not the content: an entry written after the last full
    verification and changed in place later is found only by re-reading it. So the check starts right
    after the entries that verification read (``last_full_verify["entries"]``), at most
    ``RECHECK_LIMIT`` entries below the latest checkpoint; beyond that it reads only the tail after the
    checkpoint and ``unchecked_from`` names the first entry no full verification read. Entries the
    last full verification read are covered by it (with its time) — not re-read here; but the log must
    still hold them: at least as many entries, and at that count the entry the last passing one ended
    on (its hash, when the record has one; ``_passed_problem``).
    """

    ok: bool
    entries: int
    checked_from_seq: int
    first_bad_seq: int | None
    reason: str | None
    checkpoint: CheckpointInfo | None
    last_full_verify: dict[str, Any] | None
    unchecked_from: int | None = None

    @property
    def state(self) -> IntegrityState:
        """The overall state shown to the privacy officer. ``ok`` above is only the cheap check; the log
        is *in order* only when that holds, the last full verification passed, and every entry after
        the ones it read was re-read now."""
        if not self.ok:
            return IntegrityState.BROKEN
        if self.last_full_verify is None:
            return IntegrityState.NEVER_VERIFIED
        if self.last_full_verify.get("ok") is not True:
            return IntegrityState.VERIFY_FAILED
        if self.unchecked_from is not None:
            return IntegrityState.PARTLY_VERIFIED
        return IntegrityState.OK


class IntegrityState(StrEnum):
    """Green only for ``OK``; ``NEVER_VERIFIED`` and ``PARTLY_VERIFIED`` are warnings (amber); the
    other two are alarms."""

    OK = "ok"
    NEVER_VERIFIED = "never_verified"  # the tail checks out, but no full verification ever ran
    PARTLY_VERIFIED = "partly_verified"  # too many entries after the last full verification to re-read
    VERIFY_FAILED = "verify_failed"  # the last full verification (``vault audit verify``) failed
    BROKEN = "broken"  # the cheap check fails (or a witness holds a checkpoint the vault does not)


# The most entries below the latest checkpoint the cheap check re-reads because the last full
# verification did not (about 0.8 s on 2 cores; the server's daily full verification,
# ``integrity_check.DailyVerification``, keeps this range to about a day's entries).
RECHECK_LIMIT: Final = 50_000


def _verified_entries(last_full: dict[str, Any] | None) -> int | None:
    """How many entries the last full verification read, when it passed (else None)."""
    if not last_full or last_full.get("ok") is not True:
        return None
    entries = last_full.get("entries")
    return entries if isinstance(entries, int) and entries >= 0 else 0


def _recheck_from(
    conn: Connection, row: AuditCheckpoint | None, verified: int | None
) -> tuple[int, str] | None:
    """Where the content check must start below the latest checkpoint ``row``: the first entry the
    last full verification did not read and the stored hash before it; None to start after ``row``."""
    if row is None or verified is None or verified >= row.size or row.size - verified > RECHECK_LIMIT:
        return None
    if verified == 0:
        return 1, GENESIS_HASH
    before = queries.entry_by_seq(conn, verified)  # missing (the log was cut): the first link fails
    return verified + 1, "" if before is None else str(before["entry_hash"])


def integrity_status(vault: Vault, *, signer: CheckpointSigner | None = None) -> IntegrityStatus:
    signer = signer or CheckpointSigner.for_vault(vault)
    witnesses = configured_witnesses()
    with queries.read_snapshot(vault.db) as conn:
        row = queries.latest_checkpoint(conn)
        head = queries.head_seq(conn)
        last_full = queries.get_meta(conn, LAST_VERIFY_KEY)
        unwitnessed = None if row is None else _unwitnessed(conn, row, witnesses)
        forks = fork_problems(conn, witnesses)
        verified = _verified_entries(last_full)
        recheck = _recheck_from(conn, row, verified)
        cut = _passed_problem(conn, _last_passed(last_full), head)
    info = None if row is None else CheckpointInfo.of(row)
    start = 1 if row is None else row.size if recheck is None else recheck[0]
    unchecked = None if row is None or verified is None or verified >= row.size or recheck else verified + 1
    problem = unwitnessed or next(iter(forks.values()), None)
    if problem is None and cut is not None and cut[0] > head:  # shorter than the last full verification read
        return IntegrityStatus(False, head, start, cut[0], cut[1], info, last_full, unchecked)
    if problem is not None:
        return IntegrityStatus(False, head, start, None, problem, info, last_full, unchecked)
    try:
        if row is not None:
            state, prev = trusted_state(vault, signer, row)
            confirm_last_leaf(vault, state, prev)  # not cut below the checkpoint and written again
            # Re-read from the first entry no full verification read: every stored hash must match its
            # content, and entry ``row.size`` is the one the checkpoint signed (confirmed just above).
            first, prev = (row.size + 1, prev) if recheck is None else recheck
            walk = ChainWalk(CompactRange() if recheck else state, prev, first)
            ok = walk.feed_full(Batches(scan(vault, first, head)))
        else:
            walk = ChainWalk(CompactRange(), GENESIS_HASH, 1)
            ok = walk.feed_full(Batches(scan(vault, 1, head)))
    except Integrity as exc:
        return IntegrityStatus(False, head, start, None, exc.message, info, last_full, unchecked)
    if ok and cut is not None:  # the chain holds, but not the entry the last full verification ended on
        return IntegrityStatus(False, head, start, cut[0], cut[1], info, last_full, unchecked)
    return IntegrityStatus(ok, head, start, walk.bad_seq, walk.bad_reason, info, last_full, unchecked)
