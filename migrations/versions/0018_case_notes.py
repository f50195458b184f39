"""Journal notes (aantekeningen) of a case, sealed under the case DEK; append-only.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from vault.models.base import UTCDateTime

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_notes",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("case_id", sa.String(36), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("text_enc", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=True),
        sa.Column("corrects_id", sa.String(36), sa.ForeignKey("case_notes.id"), nullable=True),
    )
    op.create_index("ix_case_notes_case_id_created_at", "case_notes", ["case_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_case_notes_case_id_created_at", table_name="case_notes")
    op.drop_table("case_notes")
