"""D18, D22, D12: a disclosure's purpose is free text staff typed ("overdracht gezin Pietersen, …"),
so it is sealed under the case key (``grants.purpose_enc``, migration 0027) and never stored in clear:
a backup taken before the case's destruction holds only ciphertext that dies with the key's epoch.
Staff read it inside their gate admission (the register, a duplicate warning, a revocation's answer),
the partner through the gate's ``partner_texts`` door; a grant made before keeps its clear purpose."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from tests.disclosure_purposes import (
    PURPOSE,
    as_before_0027,
    grant_row,
    partner_ctx,
    share_request,
    worker_ctx,
)
from tests.helpers import database_bytes
from tests.web.world import World, build_world
from vault.context import Context
from vault.domain import AuditTag
from vault.errors import Integrity
from vault.models import AuditEntry, Grant
from vault.runtime import Vault
from vault.services import destruction, disclosures, keyring, partner_view

LEGACY = "warme overdracht (van voor 0027)"


@pytest.fixture
def world(vault: Vault) -> World:
    return build_world(vault)


def _share(vault: Vault, world: World) -> disclosures.GrantView:
    return disclosures.create_disclosure(vault, worker_ctx(vault, world), share_request(world))


def test_d18_d22_the_purpose_is_stored_sealed_and_the_clear_column_stays_empty(
    vault: Vault, world: World
) -> None:
    view = _share(vault, world)
    assert view.purpose == PURPOSE  # the answer to the one who shared it
    row = grant_row(vault, view.id)
    assert row.purpose == ""
    assert row.purpose_enc is not None
    assert b"Pietersen" not in row.purpose_enc
    assert b"Pietersen" not in database_bytes(vault), "the purpose naming the family is stored in clear"


def test_d22_d12_disclosure_purpose_in_a_backup_is_unreadable_after_the_epoch_is_destroyed(
    vault: Vault, world: World
) -> None:
    """The reviewer's reproduction: the nightly backup, taken before the destruction, must not hold the
    purpose in clear, or the certificate's "backups unreadable from" is false for it."""
    _share(vault, world)
    backup = database_bytes(vault)
    operator = Context(actor_id="os:tester", role="operator", access_point="cli", clock=vault.clock)
    cert = json.loads(
        destruction.destroy_case(vault, operator, world.case_id, reason="retention_expired").body
    )
    keyring.rotate_kek(vault, operator, retire_after=timedelta(days=35))
    list(keyring.rewrap_all(vault, operator))
    keyring.remove_kek_version(vault, operator, cert["key_epoch"])
    assert cert["key_epoch"] not in vault.keys.versions()
    assert b"Pietersen" not in backup, "the purpose naming the family is in the backup in clear text"


def test_d22_staff_read_the_sealed_purpose_in_the_register_and_the_partner_in_its_inbox(
    vault: Vault, world: World
) -> None:
    view = _share(vault, world)
    register = disclosures.list_case_disclosures(vault, worker_ctx(vault, world), world.case_id)
    assert {g.id: g.purpose for g in register}[view.id] == PURPOSE
    inbox = partner_view.partner_inbox(vault, partner_ctx(vault, world))
    assert {i.grant.id: i.grant.purpose for i in inbox}[view.id] == PURPOSE


def test_d22_a_grant_made_before_migration_0027_still_shows_its_clear_purpose(
    vault: Vault, world: World
) -> None:
    as_before_0027(vault, world.grant_id, LEGACY)
    register = disclosures.list_case_disclosures(vault, worker_ctx(vault, world), world.case_id)
    assert {g.id: g.purpose for g in register}[world.grant_id] == LEGACY
    inbox = partner_view.partner_inbox(vault, partner_ctx(vault, world))
    assert {i.grant.id: i.grant.purpose for i in inbox}[world.grant_id] == LEGACY


def test_d22_a_held_back_duplicate_shows_the_live_disclosures_purpose_in_an_audited_read(
    vault: Vault, world: World
) -> None:
    view = _share(vault, world)
    with pytest.raises(disclosures.DuplicateDisclosure) as held:
        disclosures.create_disclosure(
            vault, worker_ctx(vault, world), share_request(world, confirm_duplicate=False)
        )
    existing = held.value.existing  # the world's own live grant overlaps too: either is held up
    assert existing.purpose == {view.id: PURPOSE, world.grant_id: "warme overdracht"}[existing.id]
    with vault.db.session() as session:
        warned = session.scalars(
            select(AuditEntry).where(AuditEntry.tag == str(AuditTag.DISCLOSURE_GRANT_DUPLICATE_WARNED))
        ).all()
    assert [(e.object_id, e.decision) for e in warned] == [(existing.id, "allow")]
    assert "Pietersen" not in warned[0].details
    assert "overdracht" not in warned[0].details


def test_d22_revoking_answers_the_grant_with_its_purpose(vault: Vault, world: World) -> None:
    view = _share(vault, world)
    revoked = disclosures.revoke_disclosure(vault, worker_ctx(vault, world), view.id)
    assert (revoked.revoked, revoked.purpose) == (True, PURPOSE)
    again = disclosures.revoke_disclosure(vault, worker_ctx(vault, world), view.id)  # idempotent
    assert (again.revoked, again.purpose) == (True, PURPOSE)
    extended = disclosures.extend_disclosure(vault, worker_ctx(vault, world), world.grant_id, days=60)
    assert extended.purpose == "warme overdracht"


def test_d11_d12_destruction_wipes_the_sealed_purpose_too(vault: Vault, world: World) -> None:
    view = _share(vault, world)
    operator = Context(actor_id="os:tester", role="operator", access_point="cli", clock=vault.clock)
    destruction.destroy_case(vault, operator, world.case_id, reason="retention_expired")
    row = grant_row(vault, view.id)
    assert (row.purpose, row.purpose_enc, row.partner_title_enc) == ("", None, None)


def test_d22_the_sealed_purpose_is_bound_to_its_grant(vault: Vault, world: World) -> None:
    """A sealed purpose copied onto another grant of the same case does not open there (Integrity):
    the ciphertext is bound to its table, column and row (D18)."""
    view = _share(vault, world)
    second = disclosures.create_disclosure(
        vault, worker_ctx(vault, world), replace(share_request(world), purpose="tweede overdracht")
    )
    with vault.db.session() as session:
        sealed = session.scalar(select(Grant.purpose_enc).where(Grant.id == view.id))
        session.execute(update(Grant).where(Grant.id == second.id).values(purpose_enc=sealed))
    with pytest.raises(Integrity):
        disclosures.list_case_disclosures(vault, worker_ctx(vault, world), world.case_id)
