"""What a partner sees of a disclosure (D22, D23): a partner-facing title and the Veilig Thuis contact.

The title is free text typed by staff, so it is stored encrypted under the case key (like document
titles); the contact is the disclosing worker's work name and phone number (no case content).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("grants") as batch:
        batch.add_column(sa.Column("partner_title_enc", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("contact_name", sa.String(128), nullable=True))
        batch.add_column(sa.Column("contact_phone", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("grants") as batch:
        batch.drop_column("contact_phone")
        batch.drop_column("contact_name")
        batch.drop_column("partner_title_enc")
