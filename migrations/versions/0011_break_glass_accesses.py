"""Break-the-glass: emergency accesses with their sealed justification, and the review's comment (D20).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from vault.models.base import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "break_glass_accesses",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("actor_id", sa.String(64), nullable=False),
        sa.Column("case_id", sa.String(64), nullable=False),
        sa.Column("session_key", sa.String(80), nullable=False),
        sa.Column("justification_digest", sa.String(64), nullable=False),
        sa.Column("justification_enc", sa.LargeBinary(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_break_glass_accesses")),
    )
    op.create_index(
        "ux_break_glass_accesses_grouping",
        "break_glass_accesses",
        ["actor_id", "case_id", "session_key", "justification_digest"],
        unique=True,
    )
    op.create_table(
        "break_glass_access_entries",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column(
            "access_seq",
            sa.BigInteger(),
            sa.ForeignKey(
                "break_glass_accesses.seq",
                name=op.f("fk_break_glass_access_entries_access_seq_break_glass_accesses"),
            ),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_break_glass_access_entries")),
    )
    op.create_index(
        "ix_break_glass_access_entries_access_seq", "break_glass_access_entries", ["access_seq", "seq"]
    )
    op.add_column("audit_break_glass_reviews", sa.Column("comment_enc", sa.LargeBinary()))


def downgrade() -> None:
    with op.batch_alter_table("audit_break_glass_reviews") as batch:
        batch.drop_column("comment_enc")
    op.drop_index("ix_break_glass_access_entries_access_seq", table_name="break_glass_access_entries")
    op.drop_table("break_glass_access_entries")
    op.drop_index("ux_break_glass_accesses_grouping", table_name="break_glass_accesses")
    op.drop_table("break_glass_accesses")
