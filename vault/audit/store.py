"""Signed checkpoints of the audit log, their persisted tree state, and full verification.

A checkpoint is a C2SP tlog-checkpoint in a signed note (``vault.audit.checkpoint``) over the RFC 9162
Merkle tree whose leaves are ``leaf_hash(bytes.fromhex(entry.entry_hash))`` for entries ``1..size``
(the entry hash binds the content; see docs/audit.md for why that is sound). Each row of
``audit_checkpoints`` keeps the note, its size and root, and the ``CompactRange`` after ``size``
leaves, so the next checkpoint hashes only the new entries (reading only seq, prev_hash and entry_hash,
checking links, never re-encoding content) — after the stored state has been checked
against the signed root (a state that does not match is rebuilt from the log; a log that does not
match its signed root is refused).

``verify_log`` walks the whole log once: the hash chain (gaps, links, entry hashes) *and* the Merkle
root at every stored checkpoint, whose signatures it checks first. An attacker who rewrites an entry
and recomputes every later hash keeps the chain consistent but cannot re-sign the checkpoints.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import structlog
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.exc import IntegrityError

from vault.audit.chain import GENESIS_HASH
from vault.audit.checkpoint import Checkpoint, parse_and_verify, sign_checkpoint, verifier_key_string
from vault.audit.log import record
from vault.audit.merkle import HASH_SIZE, CompactRange
from vault.context import Context
from vault.crypto.keys import SubkeyPurpose
from vault.crypto.signing import SigningKey
from vault.domain import AuditTag
from vault.errors import Integrity, InvalidInput
from vault.models import AuditCheckpoint
from vault.repositories import audit as audit_repo
from vault.repositories.audit import SCAN_HASH, SCAN_PREV, SCAN_SEQ, canonical_batch
from vault.runtime import Vault

__all__ = [
    "KEY_NAME",
    "AuditSettings",
    "CheckpointInfo",
    "CheckpointSigner",
    "IntegrityStatus",
    "LogReport",
    "PeriodicCheckpointer",
    "create_checkpoint",
    "integrity_status",
    "latest_checkpoint",
    "record_verification",
    "verify_log",
]

log = structlog.get_logger(__name__)

KEY_NAME: Final = "vault-audit"
LAST_VERIFY_KEY: Final = "audit.last_full_verify"
_sha256 = hashlib.sha256
_LEAF: Final = b"\x00"


class AuditSettings(BaseSettings):
    """``VAULT_AUDIT_*``: the checkpoint origin line and the server's checkpoint schedule."""

    model_config = SettingsConfigDict(env_prefix="VAULT_AUDIT_", extra="ignore")

    origin: str = Field(default="vault.veiligthuis.local/audit", min_length=1, max_length=200)
    checkpoint_minutes: float = Field(default=10.0, ge=0, description="0 turns periodic checkpoints off.")
    checkpoint_on_start: bool = True


@dataclass(frozen=True)
class CheckpointSigner:
    """Signs and opens this vault's checkpoints (Ed25519 from the AUDIT_CHECKPOINT subkey)."""

    origin: str
    key: SigningKey

    @classmethod
    def for_vault(cls, vault: Vault, origin: str | None = None) -> CheckpointSigner:
        seed = vault.keys.subkey(SubkeyPurpose.AUDIT_CHECKPOINT).reveal()
        return cls(origin or AuditSettings().origin, SigningKey(seed))

    @property
    def public_key(self) -> bytes:
        return self.key.public_key_bytes()

    def verifier_key(self) -> str:
        """The signed-note verifier key to publish (``vault-audit+<id>+<key>``)."""
        return verifier_key_string(KEY_NAME, self.public_key)

    def sign(self, size: int, root: bytes) -> str:
        return sign_checkpoint(Checkpoint(self.origin, size, root), KEY_NAME, self.key)

    def open(self, row: AuditCheckpoint) -> Checkpoint:
        """The verified checkpoint of a stored row; ``Integrity`` unless note, size and root agree."""
        cp = parse_and_verify(row.note, KEY_NAME, self.public_key)
        if cp.origin != self.origin or cp.size != row.size or cp.root_hash.hex() != row.root_hash:
            raise Integrity(f"checkpoint {row.size} does not match its signed note")
        return cp


@dataclass(frozen=True)
class CheckpointInfo:
    size: int
    root_hash: str
    note: str
    created_at: datetime
    created: bool = False  # False when an existing checkpoint already covered the log

    @classmethod
    def of(cls, row: AuditCheckpoint, *, created: bool = False) -> CheckpointInfo:
        return cls(row.size, row.root_hash, row.note, row.created_at, created)


# --- walking the chain ---------------------------------------------------------------------------


class _Batches:
    """Batches of scan rows; ``take`` may split one so that a walk can stop exactly at a checkpoint."""

    __slots__ = ("_it", "_rest")

    def __init__(self, batches: Iterable[list[Any]]) -> None:
        self._it = iter(batches)
        self._rest: list[Any] = []

    def take(self, limit: int | None) -> list[Any]:
        """The next rows, at most ``limit`` of them; empty at the end."""
        batch = self._rest or next(self._it, [])
        self._rest = []
        if limit is not None and len(batch) > limit:
            batch, self._rest = batch[:limit], batch[limit:]
        return batch


class _ChainWalk:
    """Checks consecutive entries and feeds their leaves (``leaf_hash(entry hash)``) to a tree state.

    ``feed_full`` recomputes every entry hash from the canonical encoding (verify, integrity status);
    ``feed_links`` checks only sequence numbers, links and the form of the stored hashes (checkpoint
    creation: the signed root binds the entry hashes, and verify binds the hashes to the content).
    """

    __slots__ = ("bad_reason", "bad_seq", "expected", "prev", "state")

    def __init__(self, state: CompactRange, prev: str, expected: int) -> None:
        self.state = state
        self.prev = prev
        self.expected = expected
        self.bad_seq: int | None = None
        self.bad_reason: str | None = None

    def _limit(self, stop_at: int | None) -> int | None:
        return None if stop_at is None else stop_at - self.expected + 1

    def feed_full(self, rows: _Batches, *, stop_at: int | None = None) -> bool:
        """Consume scan rows up to and including ``stop_at``; False at the first bad entry."""
        sha = _sha256
        leaf_prefix = _LEAF
        seq_at, prev_at, hash_at = SCAN_SEQ, SCAN_PREV, SCAN_HASH
        while stop_at is None or self.expected <= stop_at:
            batch = rows.take(self._limit(stop_at))
            if not batch:
                break
            digests = [sha(canonical).digest() for canonical in canonical_batch(batch)]
            hexes = [d.hex() for d in digests]
            # The common case checked a whole batch at a time (list comparisons run in C); a batch
            # with a fault is walked entry by entry to name the first bad one.
            expected = self.expected
            if (
                [row[seq_at] for row in batch] == list(range(expected, expected + len(batch)))
                and [row[hash_at] for row in batch] == hexes
                and [row[prev_at] for row in batch] == [self.prev, *hexes[:-1]]
            ):
                self._advance(
                    [sha(leaf_prefix + d).digest() for d in digests], expected + len(batch), hexes[-1]
                )
                continue
            prev = self.prev
            leaves: list[bytes] = []
            for row, digest, recomputed in zip(batch, digests, hexes, strict=True):
                if row[seq_at] != expected:
                    return self._fail(leaves, expected, prev, expected, f"entry {expected} is missing")
                if row[prev_at] != prev:
                    return self._fail(leaves, expected, prev, row[seq_at], _BROKEN_LINK)
                if recomputed != row[hash_at]:
                    return self._fail(leaves, expected, prev, row[seq_at], _ALTERED)
                leaves.append(sha(leaf_prefix + digest).digest())
                prev = recomputed
                expected += 1
            raise AssertionError("a batch failed its check but no entry in it is bad")  # pragma: no cover
        return True

    def feed_links(self, rows: _Batches, *, stop_at: int | None = None) -> bool:
        """Like ``feed_full`` over ``(seq, prev_hash, entry_hash)`` rows, without the content check."""
        sha = _sha256
        leaf_prefix = _LEAF
        while stop_at is None or self.expected <= stop_at:
            batch = rows.take(self._limit(stop_at))
            if not batch:
                break
            expected = self.expected
            stored = [row[2] for row in batch]
            try:
                joined = "".join(stored)
                raw = bytes.fromhex(joined)
            except (TypeError, ValueError):
                joined, raw = "", b""
            # fromhex also reads upper case and spaces: one hash, one spelling (lower-case hex).
            if (
                set(map(len, stored)) == {2 * HASH_SIZE}
                and raw.hex() == joined
                and [row[0] for row in batch] == list(range(expected, expected + len(batch)))
                and [row[1] for row in batch] == [self.prev, *stored[:-1]]
            ):
                leaves = [
                    sha(leaf_prefix + raw[i : i + HASH_SIZE]).digest() for i in range(0, len(raw), HASH_SIZE)
                ]
                self._advance(leaves, expected + len(batch), stored[-1])
                continue
            prev = self.prev
            leaves = []
            for seq, prev_hash, entry_hash in batch:
                if seq != expected:
                    return self._fail(leaves, expected, prev, expected, f"entry {expected} is missing")
                if prev_hash != prev:
                    return self._fail(leaves, expected, prev, seq, _BROKEN_LINK)
                try:
                    one = bytes.fromhex(entry_hash)
                except (TypeError, ValueError):
                    one = b""
                if len(one) != HASH_SIZE or one.hex() != entry_hash:
                    return self._fail(leaves, expected, prev, seq, "entry hash is malformed")
                leaves.append(sha(leaf_prefix + one).digest())
                prev = entry_hash
                expected += 1
            raise AssertionError("a batch failed its check but no entry in it is bad")  # pragma: no cover
        return True

    def _advance(self, leaves: list[bytes], expected: int, prev: str) -> None:
        self.state.extend(leaves)
        self.expected, self.prev = expected, prev

    def _fail(self, leaves: list[bytes], expected: int, prev: str, seq: int, reason: str) -> bool:
        """Record the first bad entry; the state keeps every good entry before it."""
        self._advance(leaves, expected, prev)
        self.bad_seq, self.bad_reason = seq, reason
        return False


_ALTERED: Final = "entry content does not match its hash"
_BROKEN_LINK: Final = "link to the previous entry is broken"


def _scan(vault: Vault, first: int, last: int | None) -> Iterator[list[Any]]:
    with audit_repo.read_snapshot(vault.db) as conn:
        yield from audit_repo.iter_scan_batches(conn, first_seq=first, last_seq=last)


def _links(vault: Vault, first: int, last: int | None) -> Iterator[list[Any]]:
    with audit_repo.read_snapshot(vault.db) as conn:
        yield from audit_repo.iter_link_batches(conn, first_seq=first, last_seq=last)


def _trusted_state(vault: Vault, signer: CheckpointSigner, row: AuditCheckpoint) -> tuple[CompactRange, str]:
    """The tree state and chain head at a stored checkpoint, trusted only after checking.

    The signature is checked, then the stored state's root; a state that does not match is rebuilt
    from the log, and a log that does not match the signed root raises ``Integrity``.
    """
    cp = signer.open(row)
    try:
        state = CompactRange.from_bytes(row.tree_state)
        stored_ok = state.size == cp.size and hmac.compare_digest(state.root(), cp.root_hash)
    except Integrity:
        stored_ok = False
    walk = _ChainWalk(CompactRange(), GENESIS_HASH, 1)
    if stored_ok:
        # The head hash at the checkpoint: recomputed from entry ``size`` itself, not taken on trust.
        head = next(iter(_scan(vault, cp.size, cp.size)), [])
        if not head:
            raise Integrity(f"the audit log is shorter than signed checkpoint {cp.size}")
        return state, _sha256(canonical_batch(head)[0]).hexdigest()
    log.warning("audit_tree_state_rebuilt", size=cp.size)
    if not walk.feed_links(_Batches(_links(vault, 1, cp.size))) or walk.state.size != cp.size:
        raise Integrity(
            f"the audit log no longer matches signed checkpoint {cp.size}; run `vault audit verify`"
        )
    if not hmac.compare_digest(walk.state.root(), cp.root_hash):
        raise Integrity(
            f"the audit log no longer matches signed checkpoint {cp.size}; run `vault audit verify`"
        )
    return walk.state, walk.prev


def latest_checkpoint(vault: Vault) -> CheckpointInfo | None:
    """The newest stored checkpoint, its signature checked."""
    signer = CheckpointSigner.for_vault(vault)
    with audit_repo.read_snapshot(vault.db) as conn:
        row = audit_repo.latest_checkpoint(conn)
    if row is None:
        return None
    signer.open(row)
    return CheckpointInfo.of(row)


def create_checkpoint(
    vault: Vault, ctx: Context | None = None, *, signer: CheckpointSigner | None = None
) -> CheckpointInfo:
    """Sign a checkpoint over every committed entry, extending the last one in O(new entries).

    Returns the existing checkpoint when nothing was appended since. With ``ctx`` the creation is
    audited (``audit:checkpoint:created``, appended *after* the checkpointed entries); the periodic
    server task passes none, so an idle log does not grow by one entry per period.
    The chain of the new entries is checked on the way: a broken log is never signed.
    """
    signer = signer or CheckpointSigner.for_vault(vault)
    with audit_repo.read_snapshot(vault.db) as conn:
        last = audit_repo.latest_checkpoint(conn)
        head = audit_repo.head_seq(conn)
    if head == 0:
        raise InvalidInput("the audit log is empty; there is nothing to checkpoint")
    if last is not None and last.size >= head:
        signer.open(last)
        return CheckpointInfo.of(last)
    if last is None:
        state, prev = CompactRange(), GENESIS_HASH
    else:
        state, prev = _trusted_state(vault, signer, last)
    walk = _ChainWalk(state, prev, state.size + 1)
    if not walk.feed_links(_Batches(_links(vault, state.size + 1, head))) or walk.state.size != head:
        where = walk.bad_seq if walk.bad_seq is not None else walk.expected
        raise Integrity(
            f"audit log broken at entry {where}: {walk.bad_reason or 'entry is missing'}; not signed"
        )
    root = walk.state.root()
    row = AuditCheckpoint(
        size=head,
        root_hash=root.hex(),
        note=signer.sign(head, root),
        tree_state=walk.state.to_bytes(),
        created_at=(ctx.now() if ctx else vault.clock.now()),
    )
    try:
        with vault.db.session() as session:
            session.add(row)
            session.flush()
            if ctx is not None:
                record(
                    session,
                    ctx,
                    AuditTag.AUDIT_CHECKPOINT_CREATED,
                    object_type="checkpoint",
                    object_id=str(head),
                    details={"size": head, "root": root.hex()},
                )
    except IntegrityError:
        # Another worker signed the same size first; theirs is as good as ours.
        with audit_repo.read_snapshot(vault.db) as conn:
            existing = audit_repo.checkpoint_at(conn, head)
        if existing is None:
            raise
        return CheckpointInfo.of(existing)
    return CheckpointInfo.of(row, created=True)


# --- verification --------------------------------------------------------------------------------


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
        return f"audit log broken at entry {self.first_bad_seq}: {self.reason}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
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


def verify_log(vault: Vault, *, signer: CheckpointSigner | None = None) -> LogReport:
    """Recompute the chain and the Merkle root at every signed checkpoint, in one pass."""
    signer = signer or CheckpointSigner.for_vault(vault)
    # ``closing``: a report returned half-way closes the scan's cursor before its connection.
    with (
        audit_repo.read_snapshot(vault.db) as conn,
        closing(audit_repo.iter_scan_batches(conn)) as scan,
    ):
        checkpoints = audit_repo.all_checkpoints(conn)
        signed: list[tuple[AuditCheckpoint, Checkpoint]] = []
        for row in checkpoints:
            try:
                signed.append((row, signer.open(row)))
            except Integrity as exc:
                return LogReport(
                    False, 0, GENESIS_HASH, len(checkpoints), reason=exc.message, bad_checkpoint=row.size
                )
        walk = _ChainWalk(CompactRange(), GENESIS_HASH, 1)
        rows = _Batches(scan)
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
    return LogReport(True, walk.state.size, walk.prev, len(signed))


def record_verification(vault: Vault, ctx: Context, report: LogReport) -> None:
    """Keep the result (for ``integrity_status``) and audit that a full verification ran."""
    with vault.db.session() as session:
        audit_repo.set_meta(session, LAST_VERIFY_KEY, {**report.as_dict(), "at": ctx.now().isoformat()})
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
    """A cheap check: the latest checkpoint's signature and stored state, and the chain after it.

    Entries at or below the checkpoint are covered by the last *full* verification
    (``last_full_verify``, with its time) — not re-read here.
    """

    ok: bool
    entries: int
    checked_from_seq: int
    first_bad_seq: int | None
    reason: str | None
    checkpoint: CheckpointInfo | None
    last_full_verify: dict[str, Any] | None


def integrity_status(vault: Vault, *, signer: CheckpointSigner | None = None) -> IntegrityStatus:
    signer = signer or CheckpointSigner.for_vault(vault)
    with audit_repo.read_snapshot(vault.db) as conn:
        row = audit_repo.latest_checkpoint(conn)
        head = audit_repo.head_seq(conn)
        last_full = audit_repo.get_meta(conn, LAST_VERIFY_KEY)
    info = None if row is None else CheckpointInfo.of(row)
    start = 1 if row is None else row.size
    try:
        if row is not None:
            state, prev = _trusted_state(vault, signer, row)
            walk = _ChainWalk(state, prev, row.size + 1)
            ok = walk.feed_full(_Batches(_scan(vault, row.size + 1, head)))
        else:
            walk = _ChainWalk(CompactRange(), GENESIS_HASH, 1)
            ok = walk.feed_full(_Batches(_scan(vault, 1, head)))
    except Integrity as exc:
        return IntegrityStatus(False, head, start, None, exc.message, info, last_full)
    return IntegrityStatus(ok, head, start, walk.bad_seq, walk.bad_reason, info, last_full)


# --- the server's periodic checkpoints -----------------------------------------------------------


class PeriodicCheckpointer:
    """A daemon thread that signs a checkpoint on start (optional) and every ``minutes`` minutes.

    Failures are logged and retried next period; a broken log is logged as an error, never signed.
    """

    def __init__(self, vault: Vault, *, minutes: float, on_start: bool = True) -> None:
        if minutes <= 0:
            raise InvalidInput("the checkpoint period must be positive")
        self._vault = vault
        self._interval = minutes * 60.0
        self._on_start = on_start
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> CheckpointInfo | None:
        try:
            return create_checkpoint(self._vault)
        except InvalidInput:
            return None  # empty log
        except Exception as exc:  # noqa: BLE001 - a background task must survive and say why
            log.error("audit_checkpoint_failed", error=type(exc).__name__)
            return None

    def _loop(self) -> None:
        if self._on_start:
            self.run_once()
        while not self._stop.wait(self._interval):
            self.run_once()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="audit-checkpointer", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
