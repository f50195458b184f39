"""D9: a disclosure on consent rests on a recorded consent; a sharing consent names its recipient.

- ``consents.recipient_org_id``: the organisation a ``share_with_partner`` consent allows sharing with.
- ``grants.consent_id``: the recorded consent a grant on the ``consent`` basis rests on, so that
  withdrawing the consent finds and revokes its grants. Grants made before this revision whose free-text
  ``consent_reference`` happens to be the id of a consent of the same case are linked to it; the others
  keep their text reference (see docs/domain.md, "Disclosure on consent").

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("consents") as batch:
        batch.add_column(sa.Column("recipient_org_id", sa.String(36), nullable=True))
        batch.create_foreign_key(
            op.f("fk_consents_recipient_org_id_organisations"),
            "organisations",
            ["recipient_org_id"],
            ["id"],
        )
    with op.batch_alter_table("grants") as batch:
        batch.add_column(sa.Column("consent_id", sa.String(36), nullable=True))
        # Grants are kept when a case is destroyed, its consents are not: the link is cleared then.
        batch.create_foreign_key(
            op.f("fk_grants_consent_id_consents"), "consents", ["consent_id"], ["id"], ondelete="SET NULL"
        )
        batch.create_index("ix_grants_consent_id", ["consent_id"])
    op.execute(
        "UPDATE grants SET consent_id = consent_reference "
        "WHERE legal_basis = 'consent' AND consent_reference IN "
        "(SELECT consents.id FROM consents WHERE consents.case_id = grants.case_id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("grants") as batch:
        batch.drop_index("ix_grants_consent_id")
        batch.drop_constraint(op.f("fk_grants_consent_id_consents"), type_="foreignkey")
        batch.drop_column("consent_id")
    with op.batch_alter_table("consents") as batch:
        batch.drop_constraint(op.f("fk_consents_recipient_org_id_organisations"), type_="foreignkey")
        batch.drop_column("recipient_org_id")
