"""D3: one client pseudonym per identifier kind (the name + date of birth one beside the BSN one),
and the record of each re-identification by identifiers (reason code, sealed explanation).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from vault.models.base import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing rows keep their one pseudonym (BSN, else name + date of birth): the identifiers were
    # never stored, so the second one cannot be derived for them.
    with op.batch_alter_table("case_workflows") as batch:
        batch.add_column(sa.Column("client_pseudonym_name_dob", sa.String(64), nullable=True))
        batch.create_index("ix_case_workflows_client_pseudonym_name_dob", ["client_pseudonym_name_dob"])
    op.create_table(
        "client_reidentifications",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("actor_id", sa.String(64), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("reason_code", sa.String(32), nullable=False),
        sa.Column("explanation_enc", sa.LargeBinary(), nullable=False),
        sa.Column("searched_by", sa.String(16), nullable=False),
        sa.Column("matches", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_client_reidentifications")),
    )
    op.create_index("ix_client_reidentifications_at", "client_reidentifications", ["at"])


def downgrade() -> None:
    op.drop_index("ix_client_reidentifications_at", table_name="client_reidentifications")
    op.drop_table("client_reidentifications")
    with op.batch_alter_table("case_workflows") as batch:
        batch.drop_index("ix_case_workflows_client_pseudonym_name_dob")
        batch.drop_column("client_pseudonym_name_dob")
