"""Audit: witness cosignatures of checkpoints (C2SP tlog-cosignature), append-only.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from vault.models.base import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_cosignatures_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_cosignatures is append-only';
END;
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    op.create_table(
        "audit_cosignatures",
        sa.Column(
            "checkpoint_size",
            sa.BigInteger(),
            sa.ForeignKey(
                "audit_checkpoints.size", name=op.f("fk_audit_cosignatures_checkpoint_size_audit_checkpoints")
            ),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("witness_key_id", sa.String(8), nullable=False),
        sa.Column("witness_name", sa.String(255), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("line", sa.Text(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("checkpoint_size", "witness_key_id", name=op.f("pk_audit_cosignatures")),
    )
    op.create_index("ix_audit_cosignatures_witness_key_id", "audit_cosignatures", ["witness_key_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        op.execute(
            "CREATE TRIGGER audit_cosignatures_no_update_delete"
            " BEFORE UPDATE OR DELETE ON audit_cosignatures"
            " FOR EACH ROW EXECUTE FUNCTION audit_cosignatures_append_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_cosignatures_no_truncate BEFORE TRUNCATE ON audit_cosignatures "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_cosignatures_append_only()"
        )
    else:
        op.execute(
            "CREATE TRIGGER audit_cosignatures_no_update BEFORE UPDATE ON audit_cosignatures "
            "BEGIN SELECT RAISE(ABORT, 'audit_cosignatures is append-only'); END"
        )
        op.execute(
            "CREATE TRIGGER audit_cosignatures_no_delete BEFORE DELETE ON audit_cosignatures "
            "BEGIN SELECT RAISE(ABORT, 'audit_cosignatures is append-only'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_cosignatures_no_truncate ON audit_cosignatures")
        op.execute("DROP TRIGGER IF EXISTS audit_cosignatures_no_update_delete ON audit_cosignatures")
        op.execute("DROP FUNCTION IF EXISTS audit_cosignatures_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_cosignatures_no_delete")
        op.execute("DROP TRIGGER IF EXISTS audit_cosignatures_no_update")
    op.drop_index("ix_audit_cosignatures_witness_key_id", table_name="audit_cosignatures")
    op.drop_table("audit_cosignatures")
