"""D12, D11, D18: destroying an OpenBao epoch is two calls — raise ``min_decryption_version``, then
``trim``. Interrupted between them, the version is hidden but its key material is still stored (anyone
with transit admin rights shows it again). The rerun must trim it before the epoch is recorded
destroyed, and an epoch recorded destroyed while the provider still stores it (as older versions of
this code left it) is flagged by `vault keys status` and destroyed by `vault keys remove-version` (K11)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.helpers import ctx_for, make_team, make_user, new_case
from tests.keys.conftest import Bao
from vault.config import Settings
from vault.context import Context, FrozenClock
from vault.crypto.envelope import DEK_PURPOSE
from vault.crypto.keys import WrappedKey
from vault.domain import AuditTag, Role
from vault.errors import Integrity, Unavailable
from vault.models import AuditEntry, CaseKey, KekEpoch
from vault.runtime import Vault
from vault.services import key_admin, keyring
from vault.services.setup import initialise


def _admin(bao: Bao) -> httpx.Client:
    return httpx.Client(base_url=bao.addr, trust_env=False, headers={"X-Vault-Token": bao.token})


def _key_info(bao: Bao, key: str) -> dict[str, Any]:
    with _admin(bao) as admin:
        data: dict[str, Any] = admin.get(f"/v1/transit/keys/{key}").json()["data"]
        return data


@pytest.fixture
def rotated(
    settings_for: Callable[[str], Settings], clock: FrozenClock
) -> Iterator[tuple[Vault, str, WrappedKey]]:
    """An OpenBao vault with one case, rotated to epoch 2 (all keys rewrapped), and the case key as the
    nightly backup before the rotation holds it (under epoch 1)."""
    vault = initialise(settings_for("openbao"), clock=clock)
    try:
        team = make_team(vault)
        ctx = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team]), Role.MEDEWERKER)
        case_id = new_case(vault, ctx, team)
        with vault.db.session() as session:
            row = session.scalars(select(CaseKey).where(CaseKey.case_id == case_id)).one()
            backup = WrappedKey(row.kek_version, bytes(row.wrapped))
        op = Context.system(access_point="cli", clock=clock)
        keyring.rotate_kek(vault, op, retire_after=timedelta(days=1))
        list(keyring.rewrap_all(vault, op))
        yield vault, case_id, backup
    finally:
        vault.close()


def _interrupt_before_trim(vault: Vault, op: Context, monkeypatch: pytest.MonkeyPatch, bao: Bao) -> None:
    provider = vault.keys.provider
    real_call = provider._call  # type: ignore[attr-defined]

    def gone_before_trim(method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        if path.endswith("/trim"):
            raise Unavailable("the key provider is unavailable; nothing was disclosed")
        result: dict[str, Any] = real_call(method, path, body)
        return result

    monkeypatch.setattr(provider, "_call", gone_before_trim)
    with pytest.raises(Unavailable):  # `vault keys remove-version 1`: OpenBao went away mid-run
        keyring.remove_kek_version(vault, op, 1)
    monkeypatch.undo()
    assert 1 not in vault.keys.versions()  # hidden, but not gone: still stored in OpenBao
    assert int(_key_info(bao, vault.settings.openbao_key).get("min_available_version") or 0) <= 1


def test_d12_d11_openbao_epoch_is_recorded_destroyed_only_once_its_version_is_trimmed(
    rotated: tuple[Vault, str, WrappedKey], openbao: Bao, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault, case_id, backup = rotated
    op = Context.system(access_point="cli", clock=clock)
    _interrupt_before_trim(vault, op, monkeypatch, openbao)
    with vault.db.session() as session:
        epoch = session.get(KekEpoch, 1)
        assert epoch is not None
        assert epoch.destroyed_at is None

    keyring.remove_kek_version(vault, op, 1)  # the rerun finishes the destruction in OpenBao
    with vault.db.session() as session:
        epoch = session.get(KekEpoch, 1)
        assert epoch is not None
        assert epoch.destroyed_at is not None
    info = _key_info(openbao, vault.settings.openbao_key)
    assert int(info["min_available_version"]) == 2, "recorded destroyed, but OpenBao still stores version 1"
    with _admin(openbao) as admin:  # lowering min_decryption_version cannot bring it back
        admin.post(
            f"/v1/transit/keys/{vault.settings.openbao_key}/config", json={"min_decryption_version": 1}
        )
    with pytest.raises((Integrity, Unavailable)):
        vault.keys.provider.unwrap(backup, purpose=DEK_PURPOSE, context_id=case_id)


def test_d12_an_epoch_recorded_destroyed_but_still_stored_by_openbao_is_flagged_and_destroyed(
    rotated: tuple[Vault, str, WrappedKey], openbao: Bao, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The state older code left after an interrupted destruction: recorded destroyed, still stored."""
    vault, case_id, backup = rotated
    op = Context.system(access_point="cli", clock=clock)
    _interrupt_before_trim(vault, op, monkeypatch, openbao)
    with vault.db.session() as session:
        epoch = session.get(KekEpoch, 1)
        assert epoch is not None
        epoch.destroyed_at = clock.now()  # what the old rerun recorded without trimming
    (status,) = [e for e in key_admin.key_status(vault).epochs if e.version == 1]
    assert status.destroyed_at is not None
    assert status.held, "status hides a destroyed epoch still stored"

    keyring.remove_kek_version(vault, op, 1)  # no longer "destroyed already": it trims
    assert 1 not in vault.keys.material_versions()
    assert int(_key_info(openbao, vault.settings.openbao_key)["min_available_version"]) == 2
    (status,) = [e for e in key_admin.key_status(vault).epochs if e.version == 1]
    assert not status.held
    with vault.db.session() as session:
        tags = session.scalars(
            select(AuditEntry.tag).where(AuditEntry.object_type == "kek", AuditEntry.object_id == "1")
        ).all()
    assert AuditTag.SYSTEM_KEYS_EPOCH_DESTROYED.value in tags
    with pytest.raises((Integrity, Unavailable)):
        vault.keys.provider.unwrap(backup, purpose=DEK_PURPOSE, context_id=case_id)
