"""Signed checkpoints of the audit log and their persisted tree state.

A checkpoint is a C2SP tlog-checkpoint in a signed note (``vault.audit.note``) over the RFC 9162
Merkle tree whose leaves are ``leaf_hash(bytes.fromhex(entry.entry_hash))`` for entries ``1..size``
(the entry hash binds the content; see docs/audit.md for why that is sound). Each row of
``audit_checkpoints`` keeps the note, its size and root, and the ``CompactRange`` after ``size``
leaves, so the next checkpoint hashes only the new entries (reading only seq, prev_hash and entry_hash,
checking links, never re-encoding content) — after the stored state has been checked
against the signed root (a state that does not match is rebuilt from the log; a log that does not
match its signed root is refused) and its last entry against the signed tree's last leaf (a log cut
below its last checkpoint, and perhaps grown again, is refused).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import structlog
from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.exc import IntegrityError

from vault.audit import queries
from vault.audit.chain import GENESIS_HASH
from vault.audit.log import record
from vault.audit.merkle import CompactRange, leaf_hash
from vault.audit.note import Checkpoint, parse_and_verify, sign_checkpoint, verifier_key_string
from vault.audit.queries import canonical_batch
from vault.audit.walk import Batches, ChainWalk, links, scan
from vault.config import settings_error
from vault.context import Context
from vault.crypto.keys import SubkeyPurpose
from vault.crypto.signing import SigningKey
from vault.domain import AuditTag
from vault.errors import Integrity, InvalidInput
from vault.models import AuditCheckpoint
from vault.runtime import Vault

__all__ = [
    "KEY_NAME",
    "AuditSettings",
    "CheckpointInfo",
    "CheckpointSigner",
    "confirm_last_leaf",
    "create_checkpoint",
    "latest_checkpoint",
    "load_audit_settings",
    "trusted_state",
]

log = structlog.get_logger(__name__)

KEY_NAME: Final = "vault-audit"
_sha256 = hashlib.sha256


class AuditSettings(BaseSettings):
    """``VAULT_AUDIT_*``: the checkpoint origin line and the server's checkpoint schedule."""

    model_config = SettingsConfigDict(env_prefix="VAULT_AUDIT_", extra="ignore")

    origin: str = Field(default="vault.veiligthuis.local/audit", min_length=1, max_length=200)
    checkpoint_minutes: float = Field(default=10.0, ge=0, description="0 turns periodic checkpoints off.")
    checkpoint_on_start: bool = True
    # The server starts a full verification when the last one is older than this (0: never; then run
    # ``vault audit verify`` from a timer): the cheap integrity status re-reads every entry after it.
    verify_hours: float = Field(default=24.0, ge=0, le=24 * 31)
    # Witnesses that cosign each checkpoint: entries "<witness vkey> <URL prefix>", separated by
    # commas or newlines (see vault.witness.client). Quorum: None means a majority of them.
    witnesses: str = Field(default="", max_length=20_000)
    witness_quorum: int | None = Field(default=None, ge=1, le=100)
    witness_timeout_seconds: float = Field(default=5.0, gt=0, le=120)

    @field_validator("origin")
    @classmethod
    def _printable_origin(cls, value: str) -> str:
        # The origin is the first line of every signed checkpoint: no control or format character (a CR
        # or escape would show another origin on a terminal; the outside verifier refuses such a note).
        if not value.isprintable():
            raise ValueError("must be printable text, without control or format characters")
        return value


def load_audit_settings() -> AuditSettings:
    """``VAULT_AUDIT_*`` from the environment; a bad value is a one-line ``ConfigError`` naming the
    variable (exit 2), as ``vault.config.load_settings`` does for the other ``VAULT_*`` settings."""
    try:
        return AuditSettings()
    except ValidationError as exc:
        raise settings_error(exc, "VAULT_AUDIT_") from None


@dataclass(frozen=True)
class CheckpointSigner:
    """Signs and opens this vault's checkpoints (Ed25519 from the AUDIT_CHECKPOINT subkey)."""

    origin: str
    key: SigningKey

    @classmethod
    def for_vault(cls, vault: Vault, origin: str | None = None) -> CheckpointSigner:
        seed = vault.keys.subkey(SubkeyPurpose.AUDIT_CHECKPOINT).reveal()
        return cls(origin or load_audit_settings().origin, SigningKey(seed))

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


def trusted_state(vault: Vault, signer: CheckpointSigner, row: AuditCheckpoint) -> tuple[CompactRange, str]:
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
    walk = ChainWalk(CompactRange(), GENESIS_HASH, 1)
    if stored_ok:
        # The head hash at the checkpoint: recomputed from entry ``size`` itself, not taken on trust.
        head = next(iter(scan(vault, cp.size, cp.size)), [])
        if not head:
            raise Integrity(_shorter(cp.size))
        return state, _sha256(canonical_batch(head)[0]).hexdigest()
    log.warning("audit_tree_state_rebuilt", size=cp.size)
    if not walk.feed_links(Batches(links(vault, 1, cp.size))) or walk.state.size != cp.size:
        raise Integrity(_no_longer_matches(cp.size))
    if not hmac.compare_digest(walk.state.root(), cp.root_hash):
        raise Integrity(_no_longer_matches(cp.size))
    return walk.state, walk.prev


def _shorter(size: int) -> str:
    return f"the audit log is shorter than signed checkpoint {size}; run `vault audit verify`"


def _no_longer_matches(size: int) -> str:
    return f"the audit log no longer matches signed checkpoint {size}; run `vault audit verify`"


def confirm_last_leaf(vault: Vault, state: CompactRange, head_hash: str) -> None:
    """``Integrity`` unless entry ``state.size`` is still the entry the checkpoint signed.

    Whoever cuts the log below a signed checkpoint and lets it grow again (or writes entries back up to
    its size) leaves a log whose entry ``size`` is not the tree's last leaf. The compact range's last
    root covers the last ``size & -size`` leaves: their stored hashes, the last one recomputed from the
    entry's content (``head_hash``), must hash to it. That reads one entry when the size is odd, and at
    most the last perfect subtree's entries otherwise.
    """
    size = state.size
    width = size & -size
    subtree = CompactRange()
    try:
        if width > 1:
            for batch in links(vault, size - width + 1, size - 1):
                subtree.extend([leaf_hash(bytes.fromhex(row[2])) for row in batch])
        subtree.append(leaf_hash(bytes.fromhex(head_hash)))
    except (TypeError, ValueError, InvalidInput):  # a malformed stored hash: not the signed leaf
        raise Integrity(_no_longer_matches(size)) from None
    if subtree.size != width or not hmac.compare_digest(subtree.root(), state.subtree_roots[-1]):
        raise Integrity(_no_longer_matches(size))


def latest_checkpoint(vault: Vault) -> CheckpointInfo | None:
    """The newest stored checkpoint, its signature checked."""
    signer = CheckpointSigner.for_vault(vault)
    with queries.read_snapshot(vault.db) as conn:
        row = queries.latest_checkpoint(conn)
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
    The chain of the new entries is checked on the way: a broken log is never signed. ``Integrity``
    when the log is shorter than the last signed checkpoint, or its entry at that size is no longer
    the one the checkpoint signed (cut and written again): neither is signed nor passed off as signed.
    """
    signer = signer or CheckpointSigner.for_vault(vault)
    with queries.read_snapshot(vault.db) as conn:
        last = queries.latest_checkpoint(conn)
        head = queries.head_seq(conn)
    if head == 0:
        raise InvalidInput("the audit log is empty; there is nothing to checkpoint")
    if last is None:
        state, prev = CompactRange(), GENESIS_HASH
    else:
        signer.open(last)
        if head < last.size:  # entries were removed from under a signed checkpoint
            raise Integrity(_shorter(last.size))
        state, prev = trusted_state(vault, signer, last)
        confirm_last_leaf(vault, state, prev)
        if head == last.size:
            return CheckpointInfo.of(last)
    walk = ChainWalk(state, prev, state.size + 1)
    if not walk.feed_links(Batches(links(vault, state.size + 1, head))) or walk.state.size != head:
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
        with queries.read_snapshot(vault.db) as conn:
            existing = queries.checkpoint_at(conn, head)
        if existing is None:
            raise
        return CheckpointInfo.of(existing)
    return CheckpointInfo.of(row, created=True)


# --- the server's periodic checkpoints -----------------------------------------------------------
