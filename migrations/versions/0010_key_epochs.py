"""Keys outside the data: KEK epochs and the purpose subkeys stored wrapped by the key provider.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from vault.models.base import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kek_epochs",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("retired_at", UTCDateTime()),
        sa.Column("destroy_after", UTCDateTime()),
        sa.Column("destroyed_at", UTCDateTime()),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_kek_epochs")),
    )
    op.create_table(
        "wrapped_subkeys",
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("kek_version", sa.Integer(), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("purpose", name=op.f("pk_wrapped_subkeys")),
    )


def downgrade() -> None:
    op.drop_table("wrapped_subkeys")
    op.drop_table("kek_epochs")
