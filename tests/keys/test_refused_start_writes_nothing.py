"""D18, D11: a start refused for the wrong key file (another installation's, an old copy with more
epochs, a typo) writes nothing: no epoch row for the wrong provider's newest version, so the right
configuration afterwards still registers cases and rotates (K10)."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.helpers import ctx_for, make_team, make_user, new_case
from vault.config import Settings
from vault.context import Context, FrozenClock
from vault.crypto.filekeys import FileKeyProvider, write_root_key
from vault.crypto.keys import KEY_SIZE, SecretKey
from vault.domain import Role
from vault.errors import ConfigError
from vault.models import KekEpoch
from vault.runtime import open_vault
from vault.services import keyring
from vault.services.setup import initialise


def test_d18_d11_a_start_refused_for_the_wrong_key_file_leaves_no_epoch_behind(
    settings: Settings, clock: FrozenClock, tmp_path: Path
) -> None:
    vault = initialise(settings, clock=clock)
    team = make_team(vault)
    ctx = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team]), Role.MEDEWERKER)
    new_case(vault, ctx, team)
    vault.close()

    # Another installation's key file (its own root key), rotated twice: epoch 3.
    other = tmp_path / "other"
    other.mkdir()
    root = SecretKey(secrets.token_bytes(KEY_SIZE))
    write_root_key(other / "root.key", root)
    provider = FileKeyProvider.create(other / "keys.json", root, first_version=1)
    provider.create_version(2)
    provider.create_version(3)
    provider.close()

    wrong = settings.model_copy(update={"key_file": other / "keys.json", "root_key_file": other / "root.key"})
    with pytest.raises(ConfigError, match="do not open"):
        open_vault(wrong, clock=clock)

    vault = open_vault(settings, clock=clock)  # the right key file again
    try:
        with vault.db.session() as session:
            assert sorted(session.scalars(select(KekEpoch.version))) == [1], (
                "the refused start wrote an epoch"
            )
        new_case(vault, ctx, team)  # intake goes on (no phantom current epoch)
        assert keyring.start_rotation(vault, Context.system(access_point="cli", clock=clock)) == (2, False)
    finally:
        vault.close()
