"""D11/D12: the grants of cases destroyed before destruction closed them are revoked (at the time of
the destruction) and lose the text staff typed in them (purpose, legacy consent reference, contact,
partner title), as ``destruction._close_grants`` does for every destruction since. The destruction's
own audit entry already records the end of the case; ids, organisation, basis, categories and dates
stay for the partner's retrieval history.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "UPDATE grants SET revoked_at = (SELECT destroyed_at FROM cases WHERE cases.id = grants.case_id) "
        "WHERE revoked_at IS NULL "
        "AND case_id IN (SELECT id FROM cases WHERE destroyed_at IS NOT NULL)"
    )
    op.execute(
        "UPDATE grants SET purpose = '', consent_reference = NULL, contact_name = NULL, "
        "contact_phone = NULL, partner_title_enc = NULL "
        "WHERE case_id IN (SELECT id FROM cases WHERE destroyed_at IS NOT NULL)"
    )


def downgrade() -> None:
    """Nothing to undo: blanked text cannot come back, and a revoked grant of a destroyed case stays so."""
