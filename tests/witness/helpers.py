"""Helpers for the witness tests: audit entries, checkpoints, raw add-checkpoint requests, and the
database owner who rewrites the log and re-signs it with the vault's own key."""

from __future__ import annotations

import base64
import urllib.error
import urllib.request

from sqlalchemy import select, text

from vault.audit import record
from vault.audit.chain import CANONICAL_FIELDS, GENESIS_HASH, entry_hash
from vault.audit.checkpoints import CheckpointInfo, CheckpointSigner, create_checkpoint
from vault.audit.merkle import CompactRange, leaf_hash
from vault.context import Context
from vault.domain import AuditTag
from vault.models import AuditEntry
from vault.runtime import Vault


def append(vault: Vault, n: int, case_id: str = "case-1") -> None:
    ctx = Context(actor_id="worker-1", role="medewerker", access_point="test", clock=vault.clock)
    with vault.db.session() as session:
        for i in range(n):
            record(session, ctx, AuditTag.DOSSIER_DOCUMENT_READ, case_id=case_id, object_id=f"doc-{i}")


def checkpoint_after(vault: Vault, n: int) -> CheckpointInfo:
    append(vault, n)
    return create_checkpoint(vault)


def request_body(old: int, proof: list[bytes], note: str) -> bytes:
    lines = "".join(base64.b64encode(h).decode() + "\n" for h in proof)
    return f"old {old}\n{lines}\n{note}".encode()


def post(url: str, body: bytes) -> tuple[int, str, str]:
    """(status, content type, body) of POST ``url``/add-checkpoint."""
    request = urllib.request.Request(url + "/add-checkpoint", data=body, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as r:  # noqa: S310 - loopback
            return r.status, r.headers.get("Content-Type", ""), r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), exc.read().decode()


def _drop_update_triggers(vault: Vault) -> None:
    with vault.db.engine.begin() as conn:
        if vault.db.is_sqlite:
            conn.exec_driver_sql("DROP TRIGGER audit_entries_no_update")
            conn.exec_driver_sql("DROP TRIGGER audit_checkpoints_no_update")
        else:
            conn.exec_driver_sql("DROP TRIGGER audit_entries_no_update_delete ON audit_entries")
            conn.exec_driver_sql("DROP TRIGGER audit_checkpoints_no_update_delete ON audit_checkpoints")


def rewrite_and_resign(vault: Vault, seq: int, size: int) -> str:
    """The database owner who also holds the vault's key: change entry ``seq``, recompute every later
    hash and link, and re-sign checkpoint ``size`` in place. Returns the new note."""
    _drop_update_triggers(vault)
    with vault.db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_entries SET case_id = 'case-other' WHERE seq = :s"), {"s": seq})
    with vault.db.session() as session:
        entries = session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
        prev, updates = GENESIS_HASH, []
        for e in entries:
            fields = {name: getattr(e, name) for name in CANONICAL_FIELDS}
            fields["prev_hash"] = prev
            prev = entry_hash(fields)
            updates.append({"s": e.seq, "p": fields["prev_hash"], "h": prev})
    hashes = [bytes.fromhex(u["h"]) for u in updates[:size]]
    state = CompactRange.from_leaf_hashes([leaf_hash(h) for h in hashes])
    note = CheckpointSigner.for_vault(vault).sign(size, state.root())
    with vault.db.engine.begin() as conn:
        for u in updates:
            conn.execute(text("UPDATE audit_entries SET prev_hash = :p, entry_hash = :h WHERE seq = :s"), u)
        conn.execute(
            text("UPDATE audit_checkpoints SET note = :n, root_hash = :r, tree_state = :t WHERE size = :s"),
            {"n": note, "r": state.root().hex(), "t": state.to_bytes(), "s": size},
        )
    return note
