"""The schema exists only through migrations, and the migrations match the models exactly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from vault import migrate
from vault.db import Database
from vault.models import Base


def _diff(db: Database) -> list[object]:
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(ctx, Base.metadata))


def test_migrating_an_empty_database_to_head_yields_exactly_the_models(empty_database_url: str) -> None:
    db = Database(empty_database_url)
    try:
        migrate.upgrade(db.engine)
        assert migrate.is_at_head(db.engine)
        assert _diff(db) == []
    finally:
        db.dispose()


def test_downgrade_to_base_and_upgrade_again(empty_database_url: str) -> None:
    db = Database(empty_database_url)
    try:
        migrate.upgrade(db.engine)
        migrate.downgrade(db.engine, "base")
        left = set(inspect(db.engine).get_table_names()) - {"alembic_version"}
        assert left == set()
        assert migrate.current_revision(db.engine) is None
        migrate.upgrade(db.engine)
        assert migrate.is_at_head(db.engine)
        assert _diff(db) == []
    finally:
        db.dispose()


def test_upgrade_keeps_rows_through_table_rebuilds(empty_database_url: str) -> None:
    """0006 rebuilds ``documents`` on SQLite; existing documents and versions must survive it."""
    from datetime import UTC, datetime

    from sqlalchemy import text

    db = Database(empty_database_url)
    now = datetime(2026, 1, 5, tzinfo=UTC)
    try:
        migrate.upgrade(db.engine, "0005")
        with db.engine.begin() as conn:
            conn.execute(
                text("INSERT INTO teams (id, name, created_at) VALUES ('t1', 'T', :now)"), {"now": now}
            )
            conn.execute(
                text(
                    "INSERT INTO cases (id, kind, team_id, legal_basis, created_at, last_changed_at, "
                    "destroy_after) VALUES ('c1', 'report', 't1', 'wmo-5.1.6', :now, :now, :now)"
                ),
                {"now": now},
            )
            conn.execute(
                text(
                    "INSERT INTO documents (id, case_id, category, title_enc, created_at) VALUES "
                    "('d1', 'c1', 'report', :b, :now)"
                ),
                {"b": b"x", "now": now},
            )
            conn.execute(
                text(
                    "INSERT INTO document_versions (id, document_id, version, blob_id, filename_enc, "
                    "content_type, plaintext_length, ciphertext_length, ciphertext_sha256, created_at) "
                    "VALUES "
                    "('v1', 'd1', 1, 'b1', :b, 'text/plain', 1, 1, 'h', :now)"
                ),
                {"b": b"x", "now": now},
            )
        migrate.upgrade(db.engine)
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM document_versions")).scalar_one() == 1
            assert conn.execute(text("SELECT refers_to_id FROM documents")).scalar_one() is None
        assert _diff(db) == []
    finally:
        db.dispose()
