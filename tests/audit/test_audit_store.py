"""Signed checkpoints, full verification and proofs over the audit log (D16, tamper evidence)."""

from __future__ import annotations

import hashlib
import threading

import pytest
from sqlalchemy import select, text

from tests.audit.oracle import verify_chain
from tests.helpers import drop_append_only
from vault.audit import record
from vault.audit.bundle import MAX_BUNDLE_ENTRIES, prove_inclusions
from vault.audit.chain import CANONICAL_FIELDS, GENESIS_HASH, canonical_bytes, entry_hash
from vault.audit.checkpoints import KEY_NAME, CheckpointSigner, create_checkpoint
from vault.audit.merkle import (
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_from_leaf_hashes,
    verify_inclusion,
)
from vault.audit.note import parse_and_verify
from vault.audit.proofs import (
    consistency_ranges,
    inclusion_ranges,
    prove_consistency,
    prove_inclusion,
    range_roots,
)
from vault.audit.queries import iter_canonical, read_snapshot
from vault.audit.schedule import PeriodicCheckpointer
from vault.audit.verification import integrity_status, verify_log
from vault.context import Context
from vault.domain import AuditTag
from vault.errors import Integrity, InvalidInput
from vault.models import AuditCheckpoint, AuditEntry
from vault.runtime import Vault

PROBE = AuditTag.SYSTEM_READINESS_PROBE  # any closed-list tag will do for volume


def _append(vault: Vault, ctx: Context, n: int, **fields: object) -> None:
    for i in range(n):
        with vault.db.session() as session:
            record(
                session,
                ctx,
                PROBE,
                object_type="test",
                object_id=f"obj-{i}",
                **fields,
            )  # type: ignore[arg-type]


def _drop_triggers(vault: Vault) -> None:
    with vault.db.engine.begin() as conn:
        drop_append_only(conn, vault, "audit_entries")


def _rewrite_consistently(vault: Vault, seq: int, column: str, value: str) -> None:
    """The strong attacker: change one entry and recompute every later hash and link."""
    _drop_triggers(vault)
    with vault.db.engine.begin() as conn:
        conn.execute(text(f"UPDATE audit_entries SET {column} = :v WHERE seq = :s"), {"v": value, "s": seq})
    with vault.db.session() as session:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.seq >= seq).order_by(AuditEntry.seq)
        ).all()
        prev = session.scalar(select(AuditEntry.entry_hash).where(AuditEntry.seq == seq - 1)) or GENESIS_HASH
        updates = []
        for e in entries:
            fields = {
                name: getattr(e, name)
                for name in (
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
                )
            }
            fields["prev_hash"] = prev
            prev = entry_hash(fields)
            updates.append({"s": e.seq, "p": fields["prev_hash"], "h": prev})
    with vault.db.engine.begin() as conn:
        for u in updates:
            conn.execute(text("UPDATE audit_entries SET prev_hash = :p, entry_hash = :h WHERE seq = :s"), u)


def _all_leaves(vault: Vault) -> list[bytes]:
    """Leaf data is each entry's 32-byte hash, recomputed here from the reference encoding."""
    with vault.db.session() as session:
        entries = session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
        return [
            leaf_hash(bytes.fromhex(entry_hash({c: getattr(e, c) for c in CANONICAL_FIELDS})))
            for e in entries
        ]


def test_fast_canonical_scan_equals_reference_encoding(vault: Vault, system_ctx: Context) -> None:
    _append(vault, system_ctx, 3, details={"odd": 'é"\\\n<\u2028>', "n": 7, "b": True, "z": None})
    _append(vault, system_ctx, 2, break_glass=True, purpose="p/ü", legal_basis="wmo")
    with vault.db.session() as session:
        entries = session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
        reference = [
            canonical_bytes({c: getattr(e, c) for c in (*AuditEntry.__table__.c.keys(),)}) for e in entries
        ]
    with read_snapshot(vault.db) as conn:
        fast = [row.canonical for row in iter_canonical(conn)]
    assert fast == reference


def test_checkpoint_is_a_signed_c2sp_note_over_the_merkle_root(vault: Vault, system_ctx: Context) -> None:
    _append(vault, system_ctx, 9)
    info = create_checkpoint(vault, system_ctx)
    signer = CheckpointSigner.for_vault(vault)
    cp = parse_and_verify(info.note, KEY_NAME, signer.public_key)
    assert info.created
    assert cp.size == info.size == 10
    assert cp.origin == "vault.veiligthuis.local/audit"
    assert cp.root_hash == root_from_leaf_hashes(_all_leaves(vault)[:10])
    assert signer.verifier_key().startswith("vault-audit+")


def test_next_checkpoint_extends_the_stored_tree_state(vault: Vault, system_ctx: Context) -> None:
    _append(vault, system_ctx, 5)
    first = create_checkpoint(vault, system_ctx)
    _append(vault, system_ctx, 6)
    second = create_checkpoint(vault, system_ctx)
    assert second.size == first.size + 1 + 6  # the first creation is itself audited
    assert bytes.fromhex(second.root_hash) == root_from_leaf_hashes(_all_leaves(vault)[: second.size])
    covering_own_entry = create_checkpoint(vault)  # not audited: no ctx
    assert covering_own_entry.created
    assert covering_own_entry.size == second.size + 1
    same = create_checkpoint(vault)
    assert not same.created
    assert same.size == covering_own_entry.size


def test_corrupt_stored_tree_state_is_rebuilt_and_checked_against_the_signed_root(
    vault: Vault, system_ctx: Context
) -> None:
    _append(vault, system_ctx, 5)
    first = create_checkpoint(vault)
    with vault.db.engine.begin() as conn:
        drop_append_only(conn, vault, "audit_checkpoints")
        conn.execute(text("UPDATE audit_checkpoints SET tree_state = :s"), {"s": b"\x01" + b"\x00" * 8})
    _append(vault, system_ctx, 3)
    second = create_checkpoint(vault)
    assert second.size == first.size + 3
    assert bytes.fromhex(second.root_hash) == root_from_leaf_hashes(_all_leaves(vault))


def test_checkpoints_are_append_only_in_the_database(vault: Vault, system_ctx: Context) -> None:
    create_checkpoint(vault)
    with pytest.raises(Exception, match="append-only"), vault.db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_checkpoints"))


def test_d16_verify_passes_on_an_intact_log_with_checkpoints(vault: Vault, system_ctx: Context) -> None:
    _append(vault, system_ctx, 4)
    create_checkpoint(vault)
    _append(vault, system_ctx, 4)
    create_checkpoint(vault)
    _append(vault, system_ctx, 2)
    report = verify_log(vault)
    assert report.ok, report.message()
    assert (report.entries, report.checkpoints) == (11, 2)


def test_d16_consistent_rewrite_passes_the_chain_but_fails_the_signed_checkpoint(
    vault: Vault, system_ctx: Context
) -> None:
    _append(vault, system_ctx, 7)
    create_checkpoint(vault)  # size 8
    _append(vault, system_ctx, 8)
    create_checkpoint(vault)  # size 16
    _rewrite_consistently(vault, 11, "actor_id", "someone-else")
    with vault.db.session() as session:
        assert verify_chain(session).ok  # the hash chain alone is fooled
    report = verify_log(vault)
    assert not report.ok
    assert report.bad_checkpoint == 16
    assert report.suspect_from is not None
    assert report.suspect_to is not None
    assert report.suspect_from <= 11 <= report.suspect_to
    assert report.suspect_to - report.suspect_from < 8  # narrowed by the stored subtree roots
    assert "checkpoint 16" in report.message()


def test_d16_checkpoint_refuses_to_extend_over_a_rewritten_log(vault: Vault, system_ctx: Context) -> None:
    _append(vault, system_ctx, 5)
    create_checkpoint(vault)
    _rewrite_consistently(vault, 3, "decision", "deny")
    with vault.db.engine.begin() as conn:  # the stored state no longer helps the attacker either
        drop_append_only(conn, vault, "audit_checkpoints")
        conn.execute(text("UPDATE audit_checkpoints SET tree_state = :s"), {"s": b"garbage"})
    _append(vault, system_ctx, 2)
    with pytest.raises(Integrity, match="checkpoint 6"):
        create_checkpoint(vault)


def test_d16_forged_checkpoint_note_is_refused(vault: Vault, system_ctx: Context) -> None:
    _append(vault, system_ctx, 3)
    create_checkpoint(vault)
    with vault.db.engine.begin() as conn:
        drop_append_only(conn, vault, "audit_checkpoints")
        note = conn.execute(text("SELECT note FROM audit_checkpoints")).scalar_one()
        forged = note.replace("\n4\n", "\n3\n", 1)
        conn.execute(text("UPDATE audit_checkpoints SET note = :n"), {"n": forged})
    report = verify_log(vault)
    assert not report.ok
    assert report.bad_checkpoint == 4


def test_d16_truncated_log_fails_against_its_checkpoint(vault: Vault, system_ctx: Context) -> None:
    _append(vault, system_ctx, 5)
    create_checkpoint(vault)
    with vault.db.engine.begin() as conn:
        drop_append_only(conn, vault, "audit_entries")
        conn.execute(text("DELETE FROM audit_entries WHERE seq >= 5"))
    report = verify_log(vault)
    assert not report.ok
    assert report.bad_checkpoint == 6


def test_chain_break_names_the_first_bad_entry(vault: Vault, system_ctx: Context) -> None:
    _append(vault, system_ctx, 6)
    create_checkpoint(vault)
    _drop_triggers(vault)
    with vault.db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_entries SET case_id = 'c-9' WHERE seq = 4"))
    report = verify_log(vault)
    assert (report.ok, report.first_bad_seq) == (False, 4)
    assert "entry 4" in report.message()


def test_inclusion_and_consistency_proofs_verify_against_signed_checkpoints(
    vault: Vault, system_ctx: Context
) -> None:
    _append(vault, system_ctx, 12)
    old = create_checkpoint(vault)
    _append(vault, system_ctx, 9)
    new = create_checkpoint(vault)
    leaves = _all_leaves(vault)
    for seq in (1, 5, old.size, new.size):
        proof = prove_inclusion(vault, seq)
        assert proof.tree_size == new.size
        assert proof.path == inclusion_proof(leaves, seq - 1, new.size)
        assert verify_inclusion(leaves[seq - 1], seq - 1, new.size, proof.path, bytes.fromhex(new.root_hash))
    assert prove_inclusion(vault, 3, size=old.size).path == inclusion_proof(leaves, 2, old.size)
    cons = prove_consistency(vault, old.size)
    assert cons.path == consistency_proof(leaves, old.size, new.size)


def test_d21_proofs_of_many_entries_from_one_pass_equal_the_single_proofs(
    vault: Vault, system_ctx: Context
) -> None:
    assert prove_inclusions(vault, [1, 2]) == {1: None, 2: None}  # no checkpoint yet
    _append(vault, system_ctx, 21)
    info = create_checkpoint(vault)
    _append(vault, system_ctx, 2)  # after the checkpoint: not covered yet
    leaves = _all_leaves(vault)
    seqs = [1, 2, 7, 8, 16, 17, info.size, info.size + 1]
    proofs = prove_inclusions(vault, seqs)
    assert proofs[info.size + 1] is None
    for seq in seqs[:-1]:
        proof = proofs[seq]
        assert proof is not None
        assert proof.path == inclusion_proof(leaves, seq - 1, info.size) == prove_inclusion(vault, seq).path
        assert proof.as_dict() == prove_inclusion(vault, seq).as_dict()
    with pytest.raises(InvalidInput):
        prove_inclusions(vault, range(1, MAX_BUNDLE_ENTRIES + 2))


def test_streamed_proof_ranges_match_the_merkle_module_for_every_small_tree() -> None:
    leaves = [hashlib.sha256(bytes([i])).digest() for i in range(40)]
    for size in range(1, 40):
        for index in range(size):
            roots = range_roots(enumerate(leaves[:size]), inclusion_ranges(index, size))
            assert roots == inclusion_proof(leaves, index, size)
        for old in range(1, size + 1):
            roots = range_roots(enumerate(leaves[:size]), consistency_ranges(old, size))
            assert roots == consistency_proof(leaves, old, size)


def test_integrity_status_checks_only_the_tail_after_the_latest_checkpoint(
    vault: Vault, system_ctx: Context
) -> None:
    _append(vault, system_ctx, 4)
    create_checkpoint(vault)
    _append(vault, system_ctx, 3)
    status = integrity_status(vault)
    assert status.ok
    assert status.entries == 8
    assert status.checked_from_seq == 5
    _drop_triggers(vault)
    with vault.db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_entries SET tag = 'x:y:z' WHERE seq = 7"))
    status = integrity_status(vault)
    assert not status.ok
    assert status.first_bad_seq == 7


def test_periodic_checkpointer_signs_on_start_without_growing_the_log(
    vault: Vault, system_ctx: Context
) -> None:
    _append(vault, system_ctx, 3)
    worker = PeriodicCheckpointer(vault, minutes=60, on_start=True)
    worker.start()
    worker.stop()
    with vault.db.session() as session:
        sizes = session.scalars(select(AuditCheckpoint.size)).all()
        head = session.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1))
    assert sizes == [4]
    assert head == 4


@pytest.mark.slow
def test_d16_eight_concurrent_writers_form_one_linear_chain_that_verifies(
    vault: Vault, system_ctx: Context
) -> None:
    per_writer = 2_000
    errors: list[BaseException] = []

    def writer(i: int) -> None:
        try:
            for n in range(per_writer):
                with vault.db.session() as session:
                    record(
                        session,
                        system_ctx,
                        PROBE,
                        object_type="test",
                        object_id=f"{i}-{n}",
                    )
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    checkpointer = threading.Thread(target=lambda: [create_checkpoint(vault) for _ in range(3)])
    threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    for t in (*threads, checkpointer):
        t.start()
    for t in (*threads, checkpointer):
        t.join(timeout=600)
    assert not errors
    report = verify_log(vault)
    assert report.ok, report.message()
    assert report.entries == 1 + 8 * per_writer


def test_checkpoint_signs_entry_hashes_without_re_encoding_and_verify_names_altered_content(
    vault: Vault, system_ctx: Context
) -> None:
    _append(vault, system_ctx, 5)
    _drop_triggers(vault)
    with vault.db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_entries SET object_id = 'changed' WHERE seq = 3"))
    info = create_checkpoint(vault)  # the links are intact: signed over the original hashes
    assert bytes.fromhex(info.root_hash) != root_from_leaf_hashes(_all_leaves(vault))
    report = verify_log(vault)
    assert (report.ok, report.first_bad_seq) == (False, 3)
    with pytest.raises(Integrity, match="entry 3"):
        prove_inclusion(vault, 3)  # a proof is only handed out with an entry that hashes to it
    assert prove_inclusion(vault, 4).seq == 4


def test_checkpoint_refuses_a_broken_link_or_a_malformed_hash(vault: Vault, system_ctx: Context) -> None:
    _append(vault, system_ctx, 4)
    _drop_triggers(vault)
    with vault.db.engine.begin() as conn:
        upper = conn.execute(text("SELECT entry_hash FROM audit_entries WHERE seq = 2")).scalar_one().upper()
        conn.execute(text("UPDATE audit_entries SET entry_hash = :h WHERE seq = 2"), {"h": upper})
        conn.execute(text("UPDATE audit_entries SET prev_hash = :h WHERE seq = 3"), {"h": upper})
    with pytest.raises(Integrity, match="entry 2: entry hash is malformed"):
        create_checkpoint(vault)
    with vault.db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_entries SET prev_hash = :h WHERE seq = 3"), {"h": "ab" * 32})
        conn.execute(text("UPDATE audit_entries SET entry_hash = lower(entry_hash) WHERE seq = 2"))
    with pytest.raises(Integrity, match="entry 3: link to the previous entry is broken"):
        create_checkpoint(vault)
