"""Logcontrole (D21): findings and their evidence, staff enrolment indexes, protected cases, and a
blind index of subjects' postcode + house number (own-circle check).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from vault.models.base import UTCDateTime

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("protected", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("subjects") as batch:
        batch.add_column(sa.Column("address_index", sa.String(64), nullable=True))
        batch.create_index("ix_subjects_address_index", ["address_index"])
    op.create_table(
        "logcontrole_findings",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("detector", sa.String(32), nullable=False),
        sa.Column("actor_key", sa.String(64), nullable=False),
        sa.Column("case_key", sa.String(64), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("first_at", UTCDateTime(), nullable=False),
        sa.Column("last_at", UTCDateTime(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_by", sa.String(64), nullable=True),
        sa.Column("status_at", UTCDateTime(), nullable=True),
        sa.Column("comment_enc", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_index(
        "ux_logcontrole_findings_identity",
        "logcontrole_findings",
        ["detector", "actor_key", "case_key", "day"],
        unique=True,
    )
    op.create_index("ix_logcontrole_findings_actor_key", "logcontrole_findings", ["actor_key"])
    op.create_index("ix_logcontrole_findings_status", "logcontrole_findings", ["status"])
    op.create_table(
        "logcontrole_finding_entries",
        sa.Column("finding_id", sa.Integer(), sa.ForeignKey("logcontrole_findings.id"), primary_key=True),
        sa.Column("seq", sa.BigInteger(), primary_key=True, autoincrement=False),
    )
    op.create_table(
        "logcontrole_staff_indexes",
        sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id"), primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("value", sa.String(64), primary_key=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("logcontrole_staff_indexes")
    op.drop_table("logcontrole_finding_entries")
    op.drop_index("ix_logcontrole_findings_status", "logcontrole_findings")
    op.drop_index("ix_logcontrole_findings_actor_key", "logcontrole_findings")
    op.drop_index("ux_logcontrole_findings_identity", "logcontrole_findings")
    op.drop_table("logcontrole_findings")
    with op.batch_alter_table("subjects") as batch:
        batch.drop_index("ix_subjects_address_index")
        batch.drop_column("address_index")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("protected")
