"""D18, D11: `vault keys migrate` away from OpenBao checks every key it unwrapped (32 bytes, and the key
wrapped under the target opens to the same bytes) before it overwrites a row: a garbled "success" from
OpenBao or a proxy stops the run with `Unavailable` and the case's wrapped key stays as it was (K18)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.helpers import ctx_for, make_team, make_user, new_case, upload
from tests.keys.conftest import Bao
from vault.config import Settings
from vault.context import Context, FrozenClock
from vault.crypto.keys import WrappedKey
from vault.domain import Role
from vault.errors import Unavailable
from vault.models import CaseKey
from vault.services import key_admin
from vault.services.setup import initialise


def test_d18_migration_from_openbao_never_writes_a_garbled_plaintext_over_a_case_key(
    settings_for: Callable[[str], Settings],
    openbao: Bao,
    clock: FrozenClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    vault = initialise(settings_for("openbao"), clock=clock)
    try:
        team = make_team(vault)
        ctx = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team]), Role.MEDEWERKER)
        case_id = new_case(vault, ctx, team)
        upload(vault, ctx, case_id, b"verslag")
        with vault.db.session() as session:
            before = session.scalars(select(CaseKey).where(CaseKey.case_id == case_id)).one()
            before_key = WrappedKey(before.kek_version, bytes(before.wrapped))
        source = vault.keys.provider
        real_call = source._call  # type: ignore[attr-defined]

        def garbling(method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
            doc: dict[str, Any] = real_call(method, path, body)
            if path.startswith("decrypt/") and body and len(body["batch_input"]) == 1:
                # only the case keys' batch (the subkeys' has several items): a canned answer
                doc["data"]["batch_results"] = [{"plaintext": base64.b64encode(b"ok").decode()}]
            return doc

        monkeypatch.setattr(source, "_call", garbling)
        op = Context.system(access_point="cli", clock=clock)
        target, _ = key_admin.migration_target(
            vault, f"file:path={tmp_path / 'keys.json'};root={tmp_path / 'root.key'}"
        )
        try:
            with pytest.raises(Unavailable, match="nothing was overwritten"):
                list(key_admin.migrate_keys(vault, op, target))
        finally:
            target.close()
        monkeypatch.undo()
        with vault.db.session() as session:
            after = session.scalars(select(CaseKey).where(CaseKey.case_id == case_id)).one()
            assert WrappedKey(after.kek_version, bytes(after.wrapped)) == before_key
    finally:
        vault.close()
