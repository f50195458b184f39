"""D20, D21: ``break_glass_accesses.justification_chars``, the policy's own count of the non-blank
characters of the justification, recorded when it is sealed, so that the log review can tell a short
one without decrypting anything. Accesses recorded before keep null ("not counted"): the review then
takes the sealed text's byte length as an upper bound (as it did before this column).

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("break_glass_accesses") as batch:
        batch.add_column(sa.Column("justification_chars", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("break_glass_accesses") as batch:
        batch.drop_column("justification_chars")
