"""Shared fixtures: a real database per test (SQLite file, or PostgreSQL when
VAULT_TEST_DATABASE_URL is set by scripts/test.sh), a real key file, a controllable clock."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from vault import migrate
from vault.app import create_app
from vault.config import Settings
from vault.context import Context, FrozenClock
from vault.db import Database
from vault.runtime import Vault
from vault.services.setup import initialise

PG_URL = os.environ.get("VAULT_TEST_DATABASE_URL")
SHARED = Path(__file__).resolve().parents[2] / "shared"


@dataclass(frozen=True)
class Backend:
    name: str  # "sqlite" or "postgresql"
    admin_url: str | None = None


def pytest_report_header() -> str:
    return f"vault test database: {'postgresql' if PG_URL else 'sqlite'}"


@pytest.fixture(scope="session")
def backend() -> Backend:
    return Backend("postgresql", PG_URL) if PG_URL else Backend("sqlite")


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def template_db(backend: Backend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database migrated to head once per session; each test gets a copy."""
    if backend.name == "sqlite":
        path = tmp_path_factory.mktemp("template") / "template.db"
        db = Database(f"sqlite:///{path}")
        migrate.upgrade(db.engine)
        db.dispose()
        yield str(path)
        return
    assert backend.admin_url
    name = f"vault_tpl_{_worker()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(backend.admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    db = Database(make_url(backend.admin_url).set(database=name))
    migrate.upgrade(db.engine)
    db.dispose()
    yield name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def database_url(backend: Backend, template_db: str, tmp_path: Path) -> Iterator[str]:
    if backend.name == "sqlite":
        target = tmp_path / "vault.db"
        shutil.copyfile(template_db, target)
        yield f"sqlite:///{target}"
        return
    assert backend.admin_url
    name = f"vault_t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(backend.admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"'))
    yield make_url(backend.admin_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def empty_database_url(backend: Backend, tmp_path: Path) -> Iterator[str]:
    """A database with no schema at all (for migration tests)."""
    if backend.name == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    assert backend.admin_url
    name = f"vault_e_{uuid.uuid4().hex[:12]}"
    admin = create_engine(backend.admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(backend.admin_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        home=tmp_path / "home",
        database_url=database_url,
        password_hashing="fast_insecure_for_tests",
        cookie_secure=False,
    )


@pytest.fixture
def vault(settings: Settings, clock: FrozenClock) -> Iterator[Vault]:
    v = initialise(settings, clock=clock)
    yield v
    v.close()


@pytest.fixture
def client(vault: Vault) -> Iterator[TestClient]:
    """The app over ``vault`` through Starlette's test client (lifespan run: the group commit starts)."""
    with TestClient(create_app(vault)) as c:
        yield c


@pytest.fixture
def system_ctx(vault: Vault) -> Context:
    return Context.system(access_point="test", clock=vault.clock)


# S3 (SeaweedFS) fixtures: `seaweedfs` (session) and `blob_backend` (local | s3), see tests/s3.py.
from tests.s3 import blob_backend, seaweedfs  # noqa: E402, F401
