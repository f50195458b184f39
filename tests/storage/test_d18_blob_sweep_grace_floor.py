"""D18 (review U2): `vault blobs sweep` on a live vault refuses a grace period below 60 seconds (from
`--grace-seconds` or VAULT_BLOB_GRACE_SECONDS): a blob between its upload and its row's commit would
be deleted, and the upload answered 201 for a lost document. `--offline` (every server stopped)
allows it. The refusal deletes nothing."""

from __future__ import annotations

import json

from sqlalchemy import select

from tests.helpers import ctx_for, make_team, make_user, new_case
from tests.robustness.support import cli
from vault.domain import Role
from vault.models import AuditEntry
from vault.runtime import Vault
from vault.services.documents import seal_to_blob
from vault.services.keyring import unwrap_case_key


def _an_orphan(vault: Vault) -> str:
    """A sealed blob no row references (an upload in flight looks the same)."""
    team = make_team(vault)
    ctx = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team]), Role.MEDEWERKER)
    case_id = new_case(vault, ctx, team)
    with vault.db.session() as session:
        dek = unwrap_case_key(session, vault.keys, case_id)
    return seal_to_blob(vault, dek, [b"upload in flight"]).blob_id


def test_d18_a_sweep_with_a_grace_below_a_minute_is_refused_on_a_live_vault(vault: Vault) -> None:
    blob_id = _an_orphan(vault)
    refused = cli(vault, "blobs", "sweep", "--grace-seconds", "5")
    assert refused.returncode == 2, refused.stderr
    assert "--offline" in refused.stderr
    assert vault.blobs.exists(blob_id)

    offline = cli(vault, "blobs", "sweep", "--grace-seconds", "0", "--offline")
    assert offline.returncode == 0, offline.stderr
    assert not vault.blobs.exists(blob_id)
    # D16: the sweep is audited under the operator's account, counts only (the refused one is not)
    with vault.db.session() as session:
        swept = session.scalars(select(AuditEntry).where(AuditEntry.tag == "admin:blobs:swept")).all()
    assert [(e.actor_id.startswith("os:"), json.loads(e.details)) for e in swept] == [
        (True, {"removed": 1, "grace_seconds": 0})
    ]
