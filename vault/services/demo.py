"""The demo dataset: clearly marked, and never loaded into a vault that holds real data."""

from __future__ import annotations

import fcntl
import io
from collections.abc import Iterator
from contextlib import contextmanager

import segno
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from vault.audit import record
from vault.auth import AuthConfig, new_secret, open_secret, provisioning_uri
from vault.context import Context
from vault.domain import AuditTag, OrgType, Role
from vault.errors import ConfigError
from vault.models import AuditEntry, TotpFactor, User, VaultMeta
from vault.runtime import Vault
from vault.services import accounts
from vault.services.demo_cases import load_demo_cases

__all__ = ["DEMO_COMPLETE", "DEMO_MARK", "load_demo"]

DEMO_MARK = "DEMO — fictitious data, not for real cases"
DEMO_COMPLETE = "demo_complete"  # vault_meta: every part of the dataset is there (written last)
DEMO_TEAM = "Team Noord (DEMO)"
# A published, fictitious password: the demo never loads into a database that holds real data.
DEMO_PASSWORD = "demo-wachtwoord-2026"  # noqa: S105
DEMO_PARTNER_TYPES = (
    OrgType.LOCAL_TEAM,
    OrgType.CHILD_PROTECTION_BOARD,
    OrgType.POLICE,
    OrgType.PUBLIC_PROSECUTOR,
    OrgType.PROBATION,
    OrgType.VICTIM_SUPPORT,
    OrgType.MUNICIPALITY,
    OrgType.GP,
    OrgType.SCHOOL,
    OrgType.CARE_PROVIDER,
)


# Dutch, recognisable organisation names (fictitious accounts; the "(DEMO)" mark stays).
DEMO_ORG_NAMES = {
    OrgType.LOCAL_TEAM: "Wijkteam Noord",
    OrgType.CHILD_PROTECTION_BOARD: "Raad voor de Kinderbescherming",
    OrgType.POLICE: "Politie Eenheid Midden-Nederland",
    OrgType.PUBLIC_PROSECUTOR: "Openbaar Ministerie Midden-Nederland",
    OrgType.PROBATION: "Reclassering Nederland",
    OrgType.VICTIM_SUPPORT: "Slachtofferhulp Nederland",
    OrgType.MUNICIPALITY: "Gemeente Utrecht",
    OrgType.GP: "Huisartsenpraktijk De Linde",
    OrgType.SCHOOL: "Basisschool De Regenboog",
    OrgType.CARE_PROVIDER: "Jeugdzorgpraktijk Het Anker",
}


def _demo_org_name(org_type: OrgType) -> str:
    return f"{DEMO_ORG_NAMES[org_type]} (DEMO)"


def _terminal_qr(uri: str) -> list[str]:
    """The enrolment URI as a QR code for the terminal: scan it with an authenticator app."""
    out = io.StringIO()
    segno.make(uri, error="m").terminal(out=out, compact=True)
    return out.getvalue().rstrip("\n").split("\n")


def _demo_username(role: Role) -> str:
    return f"demo-{role.value.replace('_', '-')}"


def _create_identities(session: Session, ctx: Context, auth: AuthConfig) -> None:
    accounts.create_team(session, ctx, DEMO_TEAM)
    for org_type in DEMO_PARTNER_TYPES:
        accounts.create_organisation(session, ctx, _demo_org_name(org_type), org_type)
    for role in Role:
        created = accounts.create_user(
            session,
            ctx,
            auth,
            username=_demo_username(role),
            role=role,
            team=DEMO_TEAM if role.is_staff else None,  # only staff belong to a team
            org=_demo_org_name(OrgType.LOCAL_TEAM if role is Role.PARTNER else OrgType.GP)
            if role in {Role.PARTNER, Role.PROFESSIONAL}
            else None,
            password=DEMO_PASSWORD,
        )
        accounts.install_totp_secret(session, ctx, auth, created.user_id, new_secret())


def _login_lines(session: Session, auth: AuthConfig, *, qr: bool) -> list[str]:
    lines = [f"Demo accounts (password for all: {DEMO_PASSWORD}); TOTP secrets for an authenticator app:"]
    for role in Role:
        user = session.scalars(select(User).where(User.username == _demo_username(role))).first()
        factor = session.get(TotpFactor, user.id) if user is not None else None
        if user is None or factor is None:
            continue
        secret = open_secret(auth.totp_key, user_id=user.id, sealed=factor.secret_sealed)
        lines.append(f"  {user.username:<24} role {role.value:<16} TOTP secret {secret}")
        if qr:
            lines.extend(_terminal_qr(provisioning_uri(secret, user.username)))
    return lines


def _holds_real_activity(vault: Vault) -> bool:
    with vault.db.session() as session:
        row = session.execute(
            select(AuditEntry.seq).where(AuditEntry.tag.not_like("system:%")).limit(1)
        ).first()
        return row is not None


# pg_advisory_lock(int4, int4), session-scoped: "VTDM", a key space of its own (see key_admin).
_DEMO_CLASS = 0x5654444D


@contextmanager
def _one_loader_at_a_time(vault: Vault) -> Iterator[None]:
    """Two ``vault demo`` runs at once (``make run`` started twice) take turns over the whole load: the
    second waits, then finds the dataset complete. Without this both saw "no demo yet" and made the
    accounts, cases and documents twice, or failed on the unique index of the audit chain (session 17).
    SQLite: an exclusive ``flock`` on ``demo.lock`` in VAULT_HOME; PostgreSQL: a session-scoped advisory
    lock on a connection of its own, released when it closes (also when the process dies)."""
    if vault.db.is_sqlite:
        with (vault.settings.resolved_home / "demo.lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes
            yield
        return
    with vault.db.engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:c, 0)"), {"c": _DEMO_CLASS})
        conn.commit()  # the lock is the session's; no transaction stays open while we wait
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:c, 0)"), {"c": _DEMO_CLASS})
            conn.commit()


def load_demo(vault: Vault, *, qr: bool = False) -> list[str]:
    """Load the demo dataset once; return the lines that tell a person how to log in (with ``qr``:
    each account's TOTP enrolment as a terminal QR code under its secret).

    The "this is demo data" mark commits with the accounts; the cases come after, and the mark that
    they are all there last (``DEMO_COMPLETE``). A run killed in between is completed by the next
    (`load_demo_cases` makes only what is missing); a complete dataset is left as it is. Runs at once
    take turns (`_one_loader_at_a_time`)."""
    with _one_loader_at_a_time(vault):
        _load(vault)
    with vault.db.session() as session:
        logins = _login_lines(session, AuthConfig.from_vault(vault), qr=qr)
    return [
        f"*** {DEMO_MARK} ***",
        *logins,
        "Public forms (no login): report /melden, ask advice /advies",
    ]


def _load(vault: Vault) -> None:
    with vault.db.session() as session:
        marked = session.get(VaultMeta, "dataset")
        is_demo = marked is not None and marked.value == "demo"
        complete = session.get(VaultMeta, DEMO_COMPLETE) is not None
    if not is_demo:
        if _holds_real_activity(vault):
            raise ConfigError(
                "VAULT_DATABASE_URL: this database holds non-demo data; the demo refuses to load into it"
            )
        with vault.db.session() as session:
            ctx = Context.system(access_point="demo", clock=vault.clock)
            session.add(VaultMeta(key="dataset", value="demo"))
            record(session, ctx, AuditTag.SYSTEM_DEMO_LOADED)
            _create_identities(session, ctx, AuthConfig.from_vault(vault))
    if not complete:
        # Cases, documents, a disclosure and a break-the-glass read, so every web page shows something.
        load_demo_cases(vault, DEMO_TEAM, _demo_org_name(OrgType.LOCAL_TEAM))
        with vault.db.session() as session:
            session.merge(VaultMeta(key=DEMO_COMPLETE, value="complete"))
