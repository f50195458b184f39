"""D18, D22, D12: ``grants.purpose_enc``, the disclosure's purpose sealed under the case key (like
``partner_title_enc``), so that a backup holds it only as ciphertext that dies with the case key's
epoch. New grants write it and leave the clear ``purpose`` empty (""). Rows made before keep their
clear purpose and null here: a migration cannot reach the case keys to seal them (they are read as
before, and blanked at destruction as before).

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("grants") as batch:
        batch.add_column(sa.Column("purpose_enc", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("grants") as batch:
        batch.drop_column("purpose_enc")
