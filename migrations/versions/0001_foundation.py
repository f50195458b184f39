"""Foundation: the append-only audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from vault.models.base import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_entries_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_entries is append-only';
END;
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    op.create_table(
        "audit_entries",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("tag", sa.String(64), nullable=False),
        sa.Column("actor_id", sa.String(64)),
        sa.Column("actor_role", sa.String(32)),
        sa.Column("actor_org_id", sa.String(64)),
        sa.Column("on_behalf_of", sa.String(64)),
        sa.Column("access_point", sa.String(64), nullable=False),
        sa.Column("request_id", sa.String(64)),
        sa.Column("case_id", sa.String(64)),
        sa.Column("object_type", sa.String(32)),
        sa.Column("object_id", sa.String(64)),
        sa.Column("legal_basis", sa.String(64)),
        sa.Column("purpose", sa.String(64)),
        sa.Column("decision", sa.String(8), nullable=False),
        sa.Column("rule", sa.String(64)),
        sa.Column("break_glass", sa.Boolean(), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("entry_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_entries")),
    )
    op.create_table(
        "vault_meta",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_vault_meta")),
    )
    op.create_index("ix_audit_entries_case_id_seq", "audit_entries", ["case_id", "seq"])
    op.create_index("ix_audit_entries_actor_id_seq", "audit_entries", ["actor_id", "seq"])
    op.create_index("ix_audit_entries_occurred_at", "audit_entries", ["occurred_at"])
    op.create_index("ix_audit_entries_tag", "audit_entries", ["tag"])

    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        op.execute(
            "CREATE TRIGGER audit_entries_no_update_delete BEFORE UPDATE OR DELETE ON audit_entries "
            "FOR EACH ROW EXECUTE FUNCTION audit_entries_append_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_append_only()"
        )
    else:
        op.execute(
            "CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries "
            "BEGIN SELECT RAISE(ABORT, 'audit_entries is append-only'); END"
        )
        op.execute(
            "CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries "
            "BEGIN SELECT RAISE(ABORT, 'audit_entries is append-only'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_entries_no_truncate ON audit_entries")
        op.execute("DROP TRIGGER IF EXISTS audit_entries_no_update_delete ON audit_entries")
        op.execute("DROP FUNCTION IF EXISTS audit_entries_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_entries_no_delete")
        op.execute("DROP TRIGGER IF EXISTS audit_entries_no_update")
    op.drop_table("audit_entries")
    op.drop_table("vault_meta")
