"""D5: a public form sent again after its answer was lost is told its case, not given a second one.

``intake_receipts`` remembers, for an hour (the proof of work's lifetime; swept with the used proofs),
which case a proof opened: keyed by the digest of the server-issued challenge, nothing personal. A
case's destruction removes its row with its other rows (D12).

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from vault.models.base import UTCDateTime

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "intake_receipts",
        sa.Column("challenge_digest", sa.String(64), nullable=False),
        sa.Column("case_id", sa.String(36), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_intake_receipts_case_id_cases")),
        sa.PrimaryKeyConstraint("challenge_digest", name=op.f("pk_intake_receipts")),
    )
    op.create_index("ix_intake_receipts_case_id", "intake_receipts", ["case_id"])
    op.create_index("ix_intake_receipts_received_at", "intake_receipts", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_intake_receipts_received_at", table_name="intake_receipts")
    op.drop_index("ix_intake_receipts_case_id", table_name="intake_receipts")
    op.drop_table("intake_receipts")
