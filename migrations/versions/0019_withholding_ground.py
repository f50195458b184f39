"""The ground a staff member gave for withholding a free-text item of an inzage copy (D13).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inzage_item_reviews") as batch:
        batch.add_column(sa.Column("withheld_ground", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("inzage_item_reviews") as batch:
        batch.drop_column("withheld_ground")
