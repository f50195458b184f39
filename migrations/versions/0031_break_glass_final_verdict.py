"""D20: an emergency access the privacy officer marked "nader onderzoek nodig" (``needs_followup``)
stays on the work list until one final verdict (justified or unjustified) is recorded beside the
first review, which is kept as it was: ``final_outcome``, ``final_reviewer_id``, ``final_reviewed_at``
and the sealed ``final_comment_enc`` (bound to this table, its own column and the access's number).
Null until then, and for every other review.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from vault.models.base import UTCDateTime

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_break_glass_reviews") as batch:
        batch.add_column(sa.Column("final_outcome", sa.String(32), nullable=True))
        batch.add_column(sa.Column("final_reviewer_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("final_reviewed_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("final_comment_enc", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_break_glass_reviews") as batch:
        batch.drop_column("final_comment_enc")
        batch.drop_column("final_reviewed_at")
        batch.drop_column("final_reviewer_id")
        batch.drop_column("final_outcome")
