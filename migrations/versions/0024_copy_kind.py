"""D8, D22: what a partner's copy of a document version needs, told from its first bytes at upload:
``document_versions.copy_kind`` (``pdf``, ``jpeg``, ``png``, ``office``, ``refuse``, or null). The gate
refuses a partner's read of a ``refuse`` version before it counts a retrieval. Versions stored before
keep null: their kind is told from their bytes when a partner opens them.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("document_versions") as batch:
        batch.add_column(sa.Column("copy_kind", sa.String(8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("document_versions") as batch:
        batch.drop_column("copy_kind")
