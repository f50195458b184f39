"""Data subjects' rights and retention: destruction requests and certificates, retention
extensions, access requests, and statements that refer to the document they answer.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from vault.models.base import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _case_fk(table: str) -> sa.ForeignKey:
    return sa.ForeignKey("cases.id", name=op.f(f"fk_{table}_case_id_cases"))


def upgrade() -> None:
    op.create_table(
        "destruction_requests",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("case_id", sa.String(36), _case_fk("destruction_requests"), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("decide_by", sa.Date(), nullable=False),
        sa.Column("recorded_by", sa.String(64)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("decided_at", UTCDateTime()),
        sa.Column("decided_by", sa.String(64)),
        sa.Column("refusal_code", sa.String(32)),
        sa.Column("refusal_note_enc", sa.LargeBinary()),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_destruction_requests")),
    )
    op.create_index(
        "ix_destruction_requests_status_decide_by", "destruction_requests", ["status", "decide_by"]
    )
    op.create_table(
        "destruction_certificates",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("case_id", sa.String(36), _case_fk("destruction_certificates"), nullable=False),
        sa.Column("destroyed_at", UTCDateTime(), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("keys_erased", sa.Integer(), nullable=False),
        sa.Column("decided_by", sa.String(64)),
        sa.Column("request_id", sa.String(36)),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("signature", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_destruction_certificates")),
        sa.UniqueConstraint("case_id", name=op.f("uq_destruction_certificates_case_id")),
    )
    op.create_table(
        "retention_extensions",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("case_id", sa.String(36), _case_fk("retention_extensions"), nullable=False),
        sa.Column("previous_destroy_after", UTCDateTime(), nullable=False),
        sa.Column("destroy_after", UTCDateTime(), nullable=False),
        sa.Column("reason_code", sa.String(32), nullable=False),
        sa.Column("extended_at", UTCDateTime(), nullable=False),
        sa.Column("extended_by", sa.String(64)),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retention_extensions")),
    )
    op.create_index("ix_retention_extensions_case_id", "retention_extensions", ["case_id"])
    op.create_table(
        "access_requests",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("case_id", sa.String(36), _case_fk("access_requests"), nullable=False),
        sa.Column("subject_id", sa.String(36), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("answer_by", sa.Date(), nullable=False),
        sa.Column("extension_code", sa.String(32)),
        sa.Column("recorded_by", sa.String(64)),
        sa.Column("completed_at", UTCDateTime()),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_requests")),
    )
    op.create_index("ix_access_requests_answer_by", "access_requests", ["answer_by"])
    with op.batch_alter_table("documents") as batch:
        batch.add_column(sa.Column("refers_to_id", sa.String(36), nullable=True))
        batch.create_foreign_key(
            op.f("fk_documents_refers_to_id_documents"), "documents", ["refers_to_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.drop_constraint(op.f("fk_documents_refers_to_id_documents"), type_="foreignkey")
        batch.drop_column("refers_to_id")
    op.drop_index("ix_access_requests_answer_by", table_name="access_requests")
    op.drop_table("access_requests")
    op.drop_index("ix_retention_extensions_case_id", table_name="retention_extensions")
    op.drop_table("retention_extensions")
    op.drop_table("destruction_certificates")
    op.drop_index("ix_destruction_requests_status_decide_by", table_name="destruction_requests")
    op.drop_table("destruction_requests")
