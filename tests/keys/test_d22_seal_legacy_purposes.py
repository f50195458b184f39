"""D18, D22, D12: ``vault keys seal-purposes`` seals the purposes of disclosures made before migration
0027. Such a grant kept its purpose (free text naming the family) in the clear ``grants.purpose``: a
migration cannot reach the case keys, so the text stayed readable in the database and in every backup
after the case key's erasure. The operator task seals it under the case key with the service's binding
(staff and the partner still read it), blanks it for a destroyed case, works in batches, is resumable
and idempotent, and audits one entry per run with counts only.

A pre-0027 grant is simulated as the migration left it: made through the service, then ``purpose`` set
back to the text and ``purpose_enc`` to NULL directly in the database."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select, update

from tests.disclosure_purposes import as_before_0027, grant_row, partner_ctx, share_request, worker_ctx
from tests.helpers import database_bytes, new_case, team_id_of
from tests.keys.test_rotation_beside_a_running_vault import _env
from tests.web.world import TEAM, World, build_world
from vault.context import Context
from vault.domain import AuditTag
from vault.errors import Integrity
from vault.models import AuditEntry, CaseKey
from vault.runtime import Vault
from vault.services import destruction, disclosures, key_admin, partner_view, purpose_sealing

LEGACY = "overdracht gezin Pietersen (van voor 0027)"
CANARY = b"Pietersen"


@pytest.fixture
def world(vault: Vault) -> World:
    return build_world(vault)


def _operator(vault: Vault) -> Context:
    return Context(actor_id="os:tester", role="operator", access_point="cli", clock=vault.clock)


def _runs(vault: Vault) -> list[AuditEntry]:
    with vault.db.session() as session:
        stmt = select(AuditEntry).where(
            AuditEntry.tag == str(AuditTag.SYSTEM_KEYS_REWRAPPED), AuditEntry.object_type == "grants"
        )
        runs = list(session.scalars(stmt.order_by(AuditEntry.seq)).all())
        session.expunge_all()
        return runs


def _second_case_grant(vault: Vault, world: World, purpose: str) -> tuple[str, str]:
    """Another case of the world's team with its own disclosure: (case id, grant id)."""
    case_id = new_case(vault, worker_ctx(vault, world), team_id_of(vault, TEAM))
    request = replace(share_request(world), case_id=case_id, purpose=purpose)
    return case_id, disclosures.create_disclosure(vault, worker_ctx(vault, world), request).id


def test_d18_d22_d12_a_legacy_purpose_is_sealed_and_leaves_the_database(vault: Vault, world: World) -> None:
    as_before_0027(vault, world.grant_id, LEGACY)
    assert CANARY in database_bytes(vault)  # the finding: the family's name in clear

    done = purpose_sealing.seal_legacy_purposes(vault, _operator(vault))

    assert done == purpose_sealing.PurposeSealing(sealed=1, blanked=0)
    row = grant_row(vault, world.grant_id)
    assert row.purpose == ""
    assert row.purpose_enc is not None
    assert CANARY not in row.purpose_enc
    assert CANARY not in database_bytes(vault), "the sealed purpose is still in the database in clear"


def _sqlite_files(vault: Vault) -> bytes:
    """The SQLite file and its WAL as they are now, the pool left open (closing the last connection
    would checkpoint the WAL itself and hide what the run leaves behind)."""
    db_file = Path(vault.settings.url.database or "")
    return b"".join(p.read_bytes() for p in db_file.parent.glob(db_file.name + "*"))


def test_d12_d18_on_sqlite_the_replaced_text_leaves_the_files_when_the_run_ends(
    vault: Vault, world: World
) -> None:
    """The clear text's old page stays in the main file (and its frames in the WAL) until a checkpoint:
    the run checkpoints, as a destruction does, while a server keeps its connections open."""
    if not vault.db.is_sqlite:
        pytest.skip("SQLite files only")
    as_before_0027(vault, world.grant_id, LEGACY)
    assert CANARY in _sqlite_files(vault)
    purpose_sealing.seal_legacy_purposes(vault, _operator(vault))
    assert CANARY not in _sqlite_files(vault), "the sealed purpose is still in the SQLite files"


def test_d22_staff_and_the_partner_still_read_a_sealed_legacy_purpose(vault: Vault, world: World) -> None:
    as_before_0027(vault, world.grant_id, LEGACY)
    purpose_sealing.seal_legacy_purposes(vault, _operator(vault))
    register = disclosures.list_case_disclosures(vault, worker_ctx(vault, world), world.case_id)
    assert {g.id: g.purpose for g in register}[world.grant_id] == LEGACY
    inbox = partner_view.partner_inbox(vault, partner_ctx(vault, world))
    assert {i.grant.id: i.grant.purpose for i in inbox}[world.grant_id] == LEGACY


def test_d22_d16_a_rerun_seals_nothing_and_each_run_is_one_entry_with_counts_only(
    vault: Vault, world: World
) -> None:
    as_before_0027(vault, world.grant_id, LEGACY)
    assert purpose_sealing.seal_legacy_purposes(vault, _operator(vault)).sealed == 1
    sealed = grant_row(vault, world.grant_id).purpose_enc
    assert purpose_sealing.seal_legacy_purposes(vault, _operator(vault)).sealed == 0
    assert grant_row(vault, world.grant_id).purpose_enc == sealed  # not sealed twice
    runs = _runs(vault)
    assert [json.loads(e.details) for e in runs] == [
        {"purposes_sealed": 1, "purposes_blanked": 0, "complete": True},
        {"purposes_sealed": 0, "purposes_blanked": 0, "complete": True},
    ]
    for entry in runs:
        assert (entry.case_id, entry.object_id, entry.actor_role) == (None, None, "operator")
        assert "Pietersen" not in entry.details
        assert world.grant_id not in entry.details


def test_d11_d22_a_destroyed_cases_legacy_purpose_is_blanked_never_sealed(vault: Vault, world: World) -> None:
    destruction.destroy_case(vault, _operator(vault), world.case_id, reason="retention_expired")
    as_before_0027(vault, world.grant_id, LEGACY)  # a grant its destruction left unblanked

    done = purpose_sealing.seal_legacy_purposes(vault, _operator(vault))

    assert done == purpose_sealing.PurposeSealing(sealed=0, blanked=1)
    row = grant_row(vault, world.grant_id)
    assert (row.purpose, row.purpose_enc) == ("", None)
    assert CANARY not in database_bytes(vault)
    assert json.loads(_runs(vault)[-1].details)["purposes_blanked"] == 1


def test_d22_many_legacy_grants_are_sealed_batch_by_batch(vault: Vault, world: World) -> None:
    """Batches of one: every grant (of two cases, each with its own key) sealed, each opening with its
    own case key and row binding."""
    texts = {world.grant_id: LEGACY}
    for n in range(3):
        view = disclosures.create_disclosure(
            vault, worker_ctx(vault, world), replace(share_request(world), purpose=f"overdracht {n}")
        )
        texts[view.id] = f"overdracht {n} gezin Pietersen"
    other_case, other_grant = _second_case_grant(vault, world, "tweede zaak")
    texts[other_grant] = "tweede zaak gezin Pietersen"
    for grant_id, text in texts.items():
        as_before_0027(vault, grant_id, text)

    done = purpose_sealing.seal_legacy_purposes(vault, _operator(vault), batch_size=1)

    assert done.sealed == len(texts)
    shown = {
        g.id: g.purpose
        for case_id in (world.case_id, other_case)
        for g in disclosures.list_case_disclosures(vault, worker_ctx(vault, world), case_id)
    }
    assert shown == texts
    assert all(grant_row(vault, gid).purpose == "" for gid in texts)
    assert CANARY not in database_bytes(vault)


def _swap_key(vault: Vault, case_id: str, donor: str) -> bytes:
    """Give ``case_id`` the wrapped key of ``donor``: the provider refuses to open it for this case (the
    key is bound to its case). Returns the case's own wrapped key, to put back."""
    with vault.db.session() as session:
        own = session.scalar(select(CaseKey.wrapped).where(CaseKey.case_id == case_id))
        other = session.scalar(select(CaseKey.wrapped).where(CaseKey.case_id == donor))
        assert own is not None
        assert other is not None
        session.execute(update(CaseKey).where(CaseKey.case_id == case_id).values(wrapped=other))
        return bytes(own)


def _restore_key(vault: Vault, case_id: str, wrapped: bytes) -> None:
    with vault.db.session() as session:
        session.execute(update(CaseKey).where(CaseKey.case_id == case_id).values(wrapped=wrapped))


def test_d12_a_key_that_does_not_open_stops_the_run_with_nothing_of_its_batch_changed(
    vault: Vault, world: World
) -> None:
    other_case, other_grant = _second_case_grant(vault, world, "tweede zaak")
    as_before_0027(vault, world.grant_id, LEGACY)
    as_before_0027(vault, other_grant, "tweede zaak gezin Pietersen")
    own = _swap_key(vault, other_case, world.case_id)

    with pytest.raises(Integrity) as failed:
        purpose_sealing.seal_legacy_purposes(vault, _operator(vault))

    assert other_case in failed.value.message
    assert "Pietersen" not in failed.value.message
    assert grant_row(vault, world.grant_id).purpose == LEGACY  # same batch: rolled back with it
    assert grant_row(vault, other_grant).purpose_enc is None
    assert json.loads(_runs(vault)[-1].details)["complete"] is False

    _restore_key(vault, other_case, own)  # the operator fixes the provider and runs again
    assert purpose_sealing.seal_legacy_purposes(vault, _operator(vault)).sealed == 2


def _cli(vault: Vault, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vault.cli.main", *args],
        env=_env(vault.settings),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_d18_d22_d12_the_cli_seals_says_how_many_and_refuses_a_key_it_cannot_open_in_one_line(
    vault: Vault, world: World
) -> None:
    other_case, other_grant = _second_case_grant(vault, world, "tweede zaak")
    as_before_0027(vault, world.grant_id, LEGACY)
    as_before_0027(vault, other_grant, "tweede zaak gezin Pietersen")
    own = _swap_key(vault, other_case, world.case_id)

    refused = _cli(vault, "keys", "seal-purposes")
    assert refused.returncode == 1, refused.stderr
    assert refused.stdout == ""
    lines = refused.stderr.splitlines()
    assert len(lines) == 1, refused.stderr
    assert lines[0].startswith("error: the key provider could not open"), refused.stderr
    assert other_case in lines[0]
    assert "Pietersen" not in refused.stderr
    assert {grant_row(vault, g).purpose_enc for g in (world.grant_id, other_grant)} == {
        None
    }  # nothing half-done

    _restore_key(vault, other_case, own)
    done = _cli(vault, "keys", "seal-purposes")
    assert (done.returncode, done.stdout) == (0, "2 disclosure purposes sealed\n"), done.stderr
    assert "Pietersen" not in done.stdout + done.stderr
    again = _cli(vault, "keys", "seal-purposes")
    assert (again.returncode, again.stdout) == (0, "0 disclosure purposes sealed\n"), again.stderr
    assert CANARY not in database_bytes(vault)
    inbox = partner_view.partner_inbox(vault, partner_ctx(vault, world))
    assert {i.grant.id: i.grant.purpose for i in inbox}[world.grant_id] == LEGACY


def test_d22_keys_status_counts_the_unsealed_purposes_and_names_none(vault: Vault, world: World) -> None:
    """D22, D18: ``vault keys status`` says how many disclosure purposes from before 0027 are still in
    clear, and what to run — a count only, never a purpose; 0 once they are sealed."""
    _other_case, other_grant = _second_case_grant(vault, world, "tweede zaak")
    assert key_admin.key_status(vault).unsealed_purposes == 0
    clean = _cli(vault, "keys", "status")
    assert clean.returncode == 0, clean.stderr
    assert "unsealed disclosure purposes: 0" in clean.stdout.splitlines()
    assert "seal-purposes" not in clean.stdout

    as_before_0027(vault, world.grant_id, LEGACY)
    as_before_0027(vault, other_grant, "tweede zaak gezin Pietersen")
    assert key_admin.key_status(vault).unsealed_purposes == 2
    status = _cli(vault, "keys", "status")
    assert status.returncode == 0, status.stderr
    assert "unsealed disclosure purposes: 2 (run `vault keys seal-purposes`)" in status.stdout.splitlines()
    assert "Pietersen" not in status.stdout + status.stderr
    assert "tweede zaak" not in status.stdout + status.stderr

    purpose_sealing.seal_legacy_purposes(vault, _operator(vault))
    assert key_admin.key_status(vault).unsealed_purposes == 0
    done = _cli(vault, "keys", "status")
    assert "unsealed disclosure purposes: 0" in done.stdout.splitlines(), done.stderr
