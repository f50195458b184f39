"""Factories for real rows (teams, organisations, users, cases) and actors' contexts."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pyotp
import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.engine import Connection

from vault.context import Context, FrozenClock
from vault.domain import AuditTag, CaseKind, Category, OrgType, Role
from vault.models import AuditEntry, Organisation, Team, TeamMembership, User
from vault.runtime import Vault
from vault.services.cases import open_case
from vault.services.documents import upload_document


def make_team(vault: Vault, name: str | None = None) -> str:
    team_id = str(uuid.uuid4())
    with vault.db.session() as session:
        session.add(Team(id=team_id, name=name or f"team-{team_id[:8]}", created_at=vault.clock.now()))
    return team_id


def make_org(vault: Vault, org_type: OrgType, name: str | None = None) -> str:
    org_id = str(uuid.uuid4())
    with vault.db.session() as session:
        session.add(
            Organisation(
                id=org_id,
                name=name or f"org-{org_id[:8]}",
                org_type=str(org_type),
                created_at=vault.clock.now(),
            )
        )
    return org_id


def make_user(vault: Vault, role: Role, *, teams: Iterable[str] = (), org_id: str | None = None) -> str:
    user_id = str(uuid.uuid4())
    with vault.db.session() as session:
        session.add(
            User(
                id=user_id,
                username=f"u-{user_id[:12]}",
                role=str(role),
                org_id=org_id,
                password_hash="$argon2id$not-a-real-hash",
                disabled=False,
                created_at=vault.clock.now(),
            )
        )
        session.flush()
        for team_id in teams:
            session.add(TeamMembership(user_id=user_id, team_id=team_id))
    return user_id


def ctx_for(
    vault: Vault,
    user_id: str,
    role: Role,
    *,
    org_id: str | None = None,
    verified: bool = True,
    stepped_up: bool = True,
) -> Context:
    return Context(
        actor_id=user_id,
        role=str(role),
        access_point="test",
        org_id=org_id,
        second_factor_verified=verified,
        factor_checked_at=vault.clock.now() if stepped_up else None,
        clock=vault.clock,
    )


def new_case(vault: Vault, ctx: Context, team_id: str, kind: CaseKind = CaseKind.REPORT) -> str:
    with vault.db.session() as session:
        return open_case(session, vault, ctx, kind=kind, team_id=team_id).id


def upload(
    vault: Vault,
    ctx: Context,
    case_id: str,
    data: bytes,
    *,
    category: Category = Category.REPORT,
    title: str = "Gespreksverslag",
    filename: str = "verslag.txt",
    chunk: int = 50_000,
) -> str:
    chunks = (data[i : i + chunk] for i in range(0, len(data), chunk))
    return upload_document(
        vault,
        ctx,
        case_id=case_id,
        category=category,
        title=title,
        filename=filename,
        content_type="text/plain",
        chunks=chunks,
    ).document_id


def worker_with_document(vault: Vault, data: bytes) -> tuple[Context, str]:
    """A case worker of a new team and one document of theirs, in a new case: (their context, its id)."""
    team = make_team(vault)
    ctx = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team]), Role.MEDEWERKER)
    return ctx, upload(vault, ctx, new_case(vault, ctx, team), data)


# --- API sessions: real accounts, real argon2 (fast test profile), real TOTP ---------------------------

API_PASSWORD = "correct horse battery staple"


@dataclass
class ApiUser:
    user_id: str
    token: str
    secret: str
    org_id: str | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def create_account(
    vault: Vault, role: Role, *, team: str | None = None, org: tuple[str, OrgType] | None = None
) -> tuple[str, str, str | None, str]:
    """(username, user_id, org_id, totp secret) of a new account with an active TOTP factor."""
    from vault.auth import AuthConfig
    from vault.repositories.identity import org_by_name, team_by_name
    from vault.services import accounts
    from vault.transaction import transaction

    ctx = Context.system(access_point="test", clock=vault.clock)
    auth = AuthConfig.from_vault(vault)
    secret = pyotp.random_base32()
    username = f"{role}-{uuid.uuid4().hex[:10]}"
    with transaction(vault.db) as session:
        if team is not None and team_by_name(session, team) is None:
            accounts.create_team(session, ctx, team)
        org_id = None
        if org is not None:
            existing = org_by_name(session, org[0])
            org_id = (existing or accounts.create_organisation(session, ctx, org[0], str(org[1]))).id
        created = accounts.create_user(
            session,
            ctx,
            auth,
            username=username,
            role=str(role),
            team=team,
            org=org[0] if org else None,
            password=API_PASSWORD,
        )
        accounts.install_totp_secret(session, ctx, auth, created.user_id, secret)
    return username, created.user_id, org_id, secret


def api_user(
    client: TestClient,
    vault: Vault,
    clock: FrozenClock,
    role: Role,
    *,
    team: str | None = None,
    org: tuple[str, OrgType] | None = None,
) -> ApiUser:
    """Create an account through the accounts service, log in and pass TOTP through the API."""
    username, user_id, org_id, secret = create_account(vault, role, team=team, org=org)
    r = client.post("/api/v1/auth/login", json={"username": username, "password": API_PASSWORD})
    assert r.status_code == 200, r.text
    token = r.json()["token"]
    r = client.post(
        "/api/v1/auth/totp/verify",
        headers={"Authorization": f"Bearer {token}"},
        json={"code": pyotp.TOTP(secret).at(clock.now())},
    )
    assert r.status_code == 200, r.text
    clock.advance(seconds=30)  # a later code for the next verification of the same account
    return ApiUser(user_id, r.json()["token"], secret, org_id)


def team_id_of(vault: Vault, name: str) -> str:
    from vault.repositories.identity import team_by_name
    from vault.transaction import transaction

    with transaction(vault.db) as session:
        team = team_by_name(session, name)
        assert team is not None
        return team.id


def pdf_text(pdf: bytes) -> str:
    """The text a reader sees on a PDF's pages (pypdf, through the embedded font's Unicode map)."""
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def database_bytes(vault: Vault) -> bytes:
    """Everything the database holds as stored: SQLite's file and WAL as they are, or a ``pg_dump``.

    For canary scans (D18): no personal datum may appear in what an operator or a backup sees.
    """
    if vault.db.is_sqlite:
        vault.db.dispose()  # let SQLite checkpoint nothing away: read the file and the WAL as they are
        db_file = Path(vault.settings.url.database or "")
        return b"".join(p.read_bytes() for p in db_file.parent.glob(db_file.name + "*"))
    bindir = os.environ.get("VAULT_TEST_PG_BINDIR", "")
    pg_dump = shutil.which("pg_dump", path=bindir or None) or shutil.which("pg_dump")
    if pg_dump is None:
        pytest.fail("pg_dump not found: the PostgreSQL canary scan needs it")
    url = vault.settings.url.set(drivername="postgresql").render_as_string(hide_password=False)
    command = [pg_dump, "--dbname", url, "--format", "plain"]
    return subprocess.run(command, capture_output=True, timeout=120, check=True).stdout


def blob_bytes(vault: Vault) -> bytes:
    """Every blob file's bytes, for the same canary scans."""
    return b"".join(p.read_bytes() for p in vault.settings.blob_dir.rglob("*") if p.is_file())


def case_entries(vault: Vault, case_id: str, tag: AuditTag) -> list[AuditEntry]:
    """The audit entries of one case with one tag, oldest first."""
    with vault.db.session() as session:
        return list(
            session.scalars(
                select(AuditEntry)
                .where(AuditEntry.case_id == case_id, AuditEntry.tag == str(tag))
                .order_by(AuditEntry.seq)
            )
        )


def denials(vault: Vault, actor_id: str, case_id: str | None = None) -> list[AuditEntry]:
    """The refusals (``dossier:access:denied``) audited for one actor, on one case if given, oldest first."""
    where = [AuditEntry.actor_id == actor_id, AuditEntry.tag == str(AuditTag.DOSSIER_ACCESS_DENIED)]
    if case_id is not None:
        where.append(AuditEntry.case_id == case_id)
    with vault.db.session() as session:
        return list(session.scalars(select(AuditEntry).where(*where).order_by(AuditEntry.seq)))


def probing_finding(vault: Vault, clock: FrozenClock, user_id: str, role: str) -> int:
    """Three refused reads of one (unknown) case by ``user_id`` today, then the day's review (D21):
    the id of the probing finding about that person."""
    from vault.audit.checkpoints import create_checkpoint
    from vault.audit.log import record
    from vault.domain import Decision
    from vault.logcontrole.engine import run_review
    from vault.models import Finding

    ctx = Context(actor_id=user_id, role=role, access_point="test", clock=vault.clock)
    case_id = str(uuid.uuid4())
    with vault.db.session() as session:
        for _ in range(3):
            record(session, ctx, AuditTag.DOSSIER_ACCESS_DENIED, case_id=case_id, decision=Decision.DENY)
    create_checkpoint(vault)
    day = clock.now().replace(hour=0, minute=0, second=0, microsecond=0)
    run_review(vault, Context.system(access_point="test", clock=vault.clock), day, day + timedelta(days=1))
    with vault.db.session() as session:
        return session.scalars(select(Finding.id).where(Finding.actor_key == user_id)).one()


def drop_append_only(conn: Connection, vault: Vault, *tables: str) -> None:
    """What a database owner does before changing the log: drop the triggers that refuse UPDATE and
    DELETE on ``tables`` (SQLite: one per statement; PostgreSQL: one for both)."""
    for table in tables:  # fixed names
        if vault.db.is_sqlite:
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_no_update")
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_no_delete")
        else:
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_no_update_delete ON {table}")
