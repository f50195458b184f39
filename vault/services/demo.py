"""The demo dataset: clearly marked, and never loaded into a vault that holds real data."""

from __future__ import annotations

from sqlalchemy import select

from vault.audit import record
from vault.context import Context
from vault.errors import ConfigError
from vault.models import AuditEntry, VaultMeta
from vault.runtime import Vault

__all__ = ["DEMO_MARK", "load_demo"]

DEMO_MARK = "DEMO — fictitious data, not for real cases"


def _holds_real_activity(vault: Vault) -> bool:
    with vault.db.session() as session:
        row = session.execute(
            select(AuditEntry.seq).where(AuditEntry.tag.not_like("system:%")).limit(1)
        ).first()
        return row is not None


def load_demo(vault: Vault) -> list[str]:
    """Load the demo dataset once; return the lines that tell a person how to log in."""
    with vault.db.session() as session:
        marked = session.get(VaultMeta, "dataset")
        is_demo = marked is not None and marked.value == "demo"
    if not is_demo:
        if _holds_real_activity(vault):
            raise ConfigError(
                "VAULT_DATABASE_URL: this database holds non-demo data; the demo refuses to load into it"
            )
        with vault.db.session() as session:
            session.add(VaultMeta(key="dataset", value="demo"))
            record(session, Context.system(access_point="demo", clock=vault.clock), "system:demo:loaded")
    return [
        f"*** {DEMO_MARK} ***",
        f"Serving on http://{vault.settings.host}:{vault.settings.port}",
    ]
