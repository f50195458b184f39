"""D16: the privacy officer asks a proof of an audit entry that was changed in the database after it
was signed. No proof can be given; the page says why in Dutch (409), not a server error.

Before session 18 both proof downloads (one entry, and a case's access report) answered 500.
"""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select, text

from tests.helpers import drop_append_only
from tests.web.world import World, build_world, web_login
from vault.app import create_app
from vault.audit.checkpoints import create_checkpoint
from vault.context import FrozenClock
from vault.models import AuditEntry
from vault.runtime import Vault


def _alter_an_entry_of_the_case(vault: Vault, world: World) -> int:
    create_checkpoint(vault)
    with vault.db.session() as session:
        seq = session.scalars(select(AuditEntry.seq).where(AuditEntry.case_id == world.case_id)).first()
    assert seq is not None
    with vault.db.engine.begin() as conn:  # what a database owner can do: rewrite one signed entry
        drop_append_only(conn, vault, "audit_entries")
        conn.execute(text("UPDATE audit_entries SET decision = 'deny' WHERE seq = :s"), {"s": seq})
    return seq


def test_d16_a_proof_of_an_altered_entry_is_refused_in_dutch_not_a_server_error(
    vault: Vault, clock: FrozenClock
) -> None:
    world = build_world(vault)
    client = TestClient(create_app(vault), raise_server_exceptions=False)
    web_login(client, world.officer, clock)
    seq = _alter_an_entry_of_the_case(vault, world)

    for url in (f"/fg/bewijs/{seq}", f"/fg/toegang/{world.case_id}/bewijs?volledig=ja"):
        r = client.get(url)
        assert r.status_code == 409, f"{url}: {r.status_code}"
        assert "Geen bewijs mogelijk: het auditlog is gewijzigd" in r.text
        assert "Integriteit" in r.text
        assert r.headers["content-type"].startswith("text/html")
