"""Run Alembic migrations programmatically (used by ``vault init``, readiness and tests).

A database whose revision this release does not know was migrated by a newer release (a node rolled
back in a rolling upgrade): every entry point refuses it with one line (`ConfigError`), never with
advice to run ``vault init`` here, which could not downgrade to a revision it has no script for."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

from vault.errors import ConfigError

__all__ = ["current_revision", "downgrade", "head_revision", "is_at_head", "upgrade"]

_ROOT = Path(__file__).resolve().parent.parent


def _config() -> Config:
    cfg = Config(str(_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(_ROOT / "migrations"))
    return cfg


def _run(engine: Engine, step: Callable[[Config], None]) -> None:
    """Run a migration step in one transaction.

    On SQLite, table rebuilds (batch mode) need foreign keys off while they run, as SQLite's
    documentation prescribes; afterwards ``PRAGMA foreign_key_check`` must find nothing.
    """
    cfg = _config()
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            conn.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
        try:
            with conn.begin():
                _refuse_unknown(_revision_of(conn))
                cfg.attributes["connection"] = conn
                step(cfg)
                if sqlite and conn.exec_driver_sql("PRAGMA foreign_key_check").first() is not None:
                    raise RuntimeError("migration left rows that violate foreign keys")
        finally:
            if sqlite:
                conn.connection.driver_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]


def upgrade(engine: Engine, revision: str = "head") -> None:
    _run(engine, lambda cfg: command.upgrade(cfg, revision))


def downgrade(engine: Engine, revision: str = "base") -> None:
    _run(engine, lambda cfg: command.downgrade(cfg, revision))


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_config()).get_current_head()


def _revision_of(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def _refuse_unknown(revision: str | None) -> None:
    """`ConfigError` when ``revision`` is none of this release's migrations."""
    if revision is None:
        return
    known = {script.revision for script in ScriptDirectory.from_config(_config()).walk_revisions()}
    if revision not in known:
        shown = "".join(c for c in revision[:64] if c.isprintable())
        raise ConfigError(
            f"the database was migrated by a newer release of the vault (revision {shown}); run that release"
        )


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return _revision_of(conn)


def is_at_head(engine: Engine) -> bool:
    """Whether the schema is this release's latest; `ConfigError` when a newer release migrated it."""
    revision = current_revision(engine)
    _refuse_unknown(revision)
    return revision == head_revision()
