"""D9, D13: migration 0033 adds ``consents.subject_id`` to a database that already holds consents. A
child's share consent recorded before it keeps its row (subject NULL) and then carries no disclosure:
``check_sharing_consent`` refuses it (rule ``d9-consent-giver``) until the worker records it again,
naming the child. Other consents keep carrying theirs. On SQLite and on PostgreSQL
(``VAULT_TEST_DATABASE_URL``); down and up again keeps the rows."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from vault import migrate
from vault.db import Database
from vault.services.consents import check_sharing_consent


def _old_rows(db: Database) -> None:
    now = datetime(2026, 1, 5, tzinfo=UTC)
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO teams (id, name, created_at) VALUES ('t1', 'T', :now)"), {"now": now})
        conn.execute(
            text(
                "INSERT INTO organisations (id, name, org_type, created_at) VALUES ('o1', 'O', 'other', :now)"
            ),
            {"now": now},
        )
        conn.execute(
            text(
                "INSERT INTO cases (id, kind, team_id, legal_basis, created_at, last_changed_at, "
                "destroy_after) VALUES ('c1', 'report', 't1', 'wmo-5.1.6', :now, :now, :now)"
            ),
            {"now": now},
        )
        for consent_id, giver in (("k-child", "child"), ("k-parent", "parent")):
            conn.execute(
                text(
                    "INSERT INTO consents (id, case_id, scope, given_by, recorded_at, recorded_by, "
                    "recipient_org_id) VALUES (:id, 'c1', 'share_with_partner', :giver, :now, 'u1', 'o1')"
                ),
                {"id": consent_id, "giver": giver, "now": now},
            )
        conn.execute(
            text(
                "INSERT INTO subjects (id, case_id, relation, created_at) VALUES ('s1', 'c1', 'child', :now)"
            ),
            {"now": now},
        )


def _decisions(db: Database) -> dict[str, tuple[bool, str]]:
    with Session(db.engine) as session:
        found = {}
        for consent_id in ("k-child", "k-parent"):
            decision = check_sharing_consent(session, case_id="c1", consent_id=consent_id, org_id="o1")
            found[consent_id] = (decision.allowed, decision.rule)
    return found


def test_d9_migration_0033_keeps_an_old_childs_consent_which_then_carries_nothing(
    empty_database_url: str,
) -> None:
    db = Database(empty_database_url)
    try:
        migrate.upgrade(db.engine, "0032")
        _old_rows(db)
        migrate.upgrade(db.engine)
        with db.engine.connect() as conn:
            rows = dict(conn.execute(text("SELECT id, subject_id FROM consents")).all())
        assert rows == {"k-child": None, "k-parent": None}
        assert _decisions(db) == {
            "k-child": (False, "d9-consent-giver"),
            "k-parent": (True, "d9-basis:consent"),
        }
        with db.engine.begin() as conn:  # recorded again, naming the child: it carries again
            conn.execute(text("UPDATE consents SET subject_id = 's1' WHERE id = 'k-child'"))
        assert _decisions(db)["k-child"] == (True, "d9-basis:consent")
        migrate.downgrade(db.engine, "0032")
        migrate.upgrade(db.engine)
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM consents")).scalar_one() == 2
    finally:
        db.dispose()
