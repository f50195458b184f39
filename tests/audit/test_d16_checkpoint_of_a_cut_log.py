"""D16: a log cut below its last signed checkpoint is never checkpointed again as if nothing happened.

Whoever removes the newest entries (the tail after an access they want gone) used to get the old
checkpoint back from ``create_checkpoint`` without complaint — and, once the vault had written as many
entries again, or more, a new checkpoint signed over the old tree and the new entries. Now the vault
refuses: the log is shorter than the checkpoint, or its entry at the checkpoint's size is no longer the
one the checkpoint signed. Real databases, the append-only triggers dropped as an attacker would.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.foundation.test_cli import _env, run_cli
from tests.helpers import drop_append_only
from vault.audit import queries, record
from vault.audit.checkpoints import create_checkpoint
from vault.audit.verification import IntegrityState, integrity_status
from vault.context import Context
from vault.domain import AuditTag
from vault.errors import Integrity
from vault.runtime import Vault


def _append(vault: Vault, n: int, actor: str = "worker-1") -> None:
    ctx = Context(actor_id=actor, role="medewerker", access_point="test", clock=vault.clock)
    with vault.db.session() as session:
        for i in range(n):
            record(session, ctx, AuditTag.DOSSIER_DOCUMENT_READ, case_id="case-1", object_id=f"doc-{i}")


def _grow_to(vault: Vault, size: int) -> None:
    """Entries up to ``size`` (the vault's set-up already wrote some)."""
    with queries.read_snapshot(vault.db) as conn:
        head = queries.head_seq(conn)
    assert head < size
    _append(vault, size - head)


def _cut_after(vault: Vault, seq: int) -> None:
    """The database owner removes every entry after ``seq``."""
    with vault.db.engine.begin() as conn:
        drop_append_only(conn, vault, "audit_entries")
        conn.execute(text("DELETE FROM audit_entries WHERE seq > :s"), {"s": seq})


# Sizes whose last perfect subtree is 1 (odd), 2, 4 and 8 leaves wide.
SIZES = [7, 6, 12, 8]


@pytest.mark.parametrize("size", SIZES)
def test_d16_checkpoint_refuses_a_log_shorter_than_its_last_signed_checkpoint(
    vault: Vault, size: int
) -> None:
    _grow_to(vault, size)
    assert create_checkpoint(vault).size == size
    _cut_after(vault, size - 3)
    with pytest.raises(Integrity) as refused:
        create_checkpoint(vault)
    assert refused.value.message == (
        f"the audit log is shorter than signed checkpoint {size}; run `vault audit verify`"
    )


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("regrown", [3, 5], ids=["back-to-its-size", "past-its-size"])
def test_d16_checkpoint_refuses_a_log_cut_below_its_last_checkpoint_and_written_again(
    vault: Vault, size: int, regrown: int
) -> None:
    """The cut tail is replaced by other entries with a valid chain, up to the checkpoint's size (the
    old checkpoint used to be handed back) or past it (a new one used to be signed over the old tree)."""
    _grow_to(vault, size)
    assert create_checkpoint(vault).size == size
    _cut_after(vault, size - 3)
    _append(vault, regrown, actor="someone-else")
    with pytest.raises(Integrity) as refused:
        create_checkpoint(vault)
    assert refused.value.message == (
        f"the audit log no longer matches signed checkpoint {size}; run `vault audit verify`"
    )


@pytest.mark.parametrize("size", [3, *SIZES, 16])
def test_d16_an_intact_log_keeps_its_checkpoint_and_extends_it(vault: Vault, size: int) -> None:
    _grow_to(vault, size)
    first = create_checkpoint(vault)
    again = create_checkpoint(vault)
    assert (again.size, again.note, again.created) == (size, first.note, False)
    _append(vault, 2)
    assert create_checkpoint(vault).size == size + 2


def test_d16_cli_checkpoint_of_a_cut_log_is_one_error_line_and_a_non_zero_exit(
    vault: Vault, database_url: str
) -> None:
    _grow_to(vault, 6)
    assert create_checkpoint(vault).size == 6
    _cut_after(vault, 4)
    done = run_cli(["audit", "checkpoint"], _env(vault.settings.resolved_home, database_url))
    assert done.returncode != 0
    assert done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        "error: the audit log is shorter than signed checkpoint 6; run `vault audit verify`"
    ]


@pytest.mark.parametrize("size", SIZES)
def test_d16_the_cheap_integrity_status_is_broken_for_a_log_cut_below_its_checkpoint_and_written_again(
    vault: Vault, size: int
) -> None:
    """The status the privacy officer sees (``/fg/integriteit``, ``vault audit status``) re-reads the
    entry at the checkpoint's size; a cut tail written again with a valid chain is no longer green."""
    _grow_to(vault, size)
    assert create_checkpoint(vault).size == size
    assert integrity_status(vault).ok
    _cut_after(vault, size - 3)
    _append(vault, 5, actor="someone-else")
    status = integrity_status(vault)
    assert not status.ok
    assert status.state is IntegrityState.BROKEN
    assert status.reason == (
        f"the audit log no longer matches signed checkpoint {size}; run `vault audit verify`"
    )
