"""D18, D22: shared set-up of the disclosure-purpose tests (tests/rights/test_d22_disclosure_purpose_
sealed.py, tests/keys/test_d22_seal_legacy_purposes.py, …): the world's worker and partner, a
disclosure request with a purpose that names the family, a grant's row, and a grant as an earlier
version (before migration 0027) left it: its purpose in clear, nothing sealed."""

from __future__ import annotations

from sqlalchemy import update

from tests.web.world import World
from vault.context import Context
from vault.domain import Category, Role
from vault.models import Grant
from vault.runtime import Vault
from vault.services import disclosures

__all__ = [
    "PURPOSE",
    "as_before_0027",
    "grant_row",
    "partner_ctx",
    "person_ctx",
    "share_request",
    "worker_ctx",
]

PURPOSE = "overdracht gezin Pietersen, Kerkstraat 12 Utrecht"


def person_ctx(vault: Vault, user_id: str, role: Role, org_id: str | None = None) -> Context:
    return Context(
        actor_id=user_id,
        role=str(role),
        org_id=org_id,
        access_point="test",
        second_factor_verified=True,
        factor_checked_at=vault.clock.now(),
        clock=vault.clock,
    )


def worker_ctx(vault: Vault, world: World) -> Context:
    return person_ctx(vault, world.worker.user_id, Role.MEDEWERKER)


def partner_ctx(vault: Vault, world: World) -> Context:
    return person_ctx(vault, world.partner.user_id, Role.PARTNER, world.partner.org_id)


def share_request(world: World, *, confirm_duplicate: bool = True) -> disclosures.DisclosureRequest:
    return disclosures.DisclosureRequest(
        contact_name="Marieke de Vries",
        contact_phone="030 123 45 67",
        case_id=world.case_id,
        org_id=world.org_id,
        purpose=PURPOSE,
        legal_basis="wmo-4.1.1-2-help",
        categories=frozenset({Category.SAFETY_CONDITIONS}),
        confirm_duplicate=confirm_duplicate,
    )


def grant_row(vault: Vault, grant_id: str) -> Grant:
    with vault.db.session() as session:
        grant = session.get(Grant, grant_id)
        assert grant is not None
        session.expunge(grant)
        return grant


def as_before_0027(vault: Vault, grant_id: str, text: str) -> None:
    """The row as an earlier version wrote it: the purpose in clear, nothing sealed."""
    with vault.db.session() as session:
        session.execute(update(Grant).where(Grant.id == grant_id).values(purpose=text, purpose_enc=None))
