"""Who made an access request: the data subject or their legal representative (D13: a child under 12
exercises the right through a representative).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("access_requests") as batch:
        batch.add_column(sa.Column("requested_by", sa.String(16), nullable=False, server_default="subject"))


def downgrade() -> None:
    with op.batch_alter_table("access_requests") as batch:
        batch.drop_column("requested_by")
