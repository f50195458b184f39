"""D12: a legal hold (a retention extension for legal proceedings or a statutory obligation) can be
lifted before its date by the roles that place it: ``lifted_at``, ``lifted_by`` and the reason code
``lift_code`` (``vault.services.legal_hold.LiftReason``). Null while the hold stands, and for every
other extension.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from vault.models.base import UTCDateTime

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("retention_extensions") as batch:
        batch.add_column(sa.Column("lifted_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("lifted_by", sa.String(64), nullable=True))
        batch.add_column(sa.Column("lift_code", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("retention_extensions") as batch:
        batch.drop_column("lift_code")
        batch.drop_column("lifted_by")
        batch.drop_column("lifted_at")
