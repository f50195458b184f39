"""Keys outside the data: the HSM backup key (public half) and the sealed backups of PKCS#11 KEKs.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from vault.models.base import UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kek_backup_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("share_set", sa.Integer(), nullable=False),
        sa.Column("shares", sa.Integer(), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("superseded_at", UTCDateTime()),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kek_backup_keys")),
    )
    op.create_table(
        "kek_backups",
        sa.Column(
            "version",
            sa.Integer(),
            sa.ForeignKey("kek_epochs.version", name=op.f("fk_kek_backups_version_kek_epochs")),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column(
            "backup_key_id",
            sa.Integer(),
            sa.ForeignKey("kek_backup_keys.id", name=op.f("fk_kek_backups_backup_key_id_kek_backup_keys")),
            nullable=False,
        ),
        sa.Column("blob", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_kek_backups")),
    )


def downgrade() -> None:
    op.drop_table("kek_backups")
    op.drop_table("kek_backup_keys")
