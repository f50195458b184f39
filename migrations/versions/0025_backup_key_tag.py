"""D18: the HSM backup key is authenticated by the token, not trusted as the database stores it:
``kek_backup_keys.tag`` holds the token's HMAC over the row's statement (id, share set, counts, public
key). Backup keys made before stay null: rotation refuses to back up to them until `vault keys split`
makes a new one (docs/security.md, "Moving and recovering keys").

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("kek_backup_keys") as batch:
        batch.add_column(sa.Column("tag", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("kek_backup_keys") as batch:
        batch.drop_column("tag")
