"""D4: a pending own-motion conversion can be withdrawn (by who asked it, or a team leader of the case's
team) or declined (by a staff member of the case who may approve it, with a reason code of
``own_motion.DeclineReason``: never free text). ``decided_by``/``decided_at``: who ended it and when;
``decline_reason``: the code, only for ``declined``. Null for pending and converted conversions. The
status column is a free string: ``withdrawn`` and ``declined`` need no change to it.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from vault.models.base import UTCDateTime

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("own_motion_conversions") as batch:
        batch.add_column(sa.Column("decided_by", sa.String(64), nullable=True))
        batch.add_column(sa.Column("decided_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("decline_reason", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("own_motion_conversions") as batch:
        batch.drop_column("decline_reason")
        batch.drop_column("decided_at")
        batch.drop_column("decided_by")
