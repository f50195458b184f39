"""D7: a monitoring moment can be postponed with a reason code and a new date.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from vault.models.base import UTCDateTime

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("monitoring_checks") as batch:
        batch.add_column(sa.Column("postponed_from", sa.Date(), nullable=True))
        batch.add_column(sa.Column("postpone_reason", sa.String(32), nullable=True))
        batch.add_column(sa.Column("postponed_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("postponed_by", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("monitoring_checks") as batch:
        batch.drop_column("postponed_by")
        batch.drop_column("postponed_at")
        batch.drop_column("postpone_reason")
        batch.drop_column("postponed_from")
