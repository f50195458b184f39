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
