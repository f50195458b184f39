"""Cases, wrapped case keys, documents and their versions.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from vault.models.base import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("team_id", sa.String(36), sa.ForeignKey("teams.id", name=op.f("fk_cases_team_id_teams"))),
        sa.Column("owner_id", sa.String(36), sa.ForeignKey("users.id", name=op.f("fk_cases_owner_id_users"))),
        sa.Column("legal_basis", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_changed_at", UTCDateTime(), nullable=False),
        sa.Column("destroy_after", UTCDateTime(), nullable=False),
        sa.Column("destroyed_at", UTCDateTime()),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
    )
    op.create_index("ix_cases_team_id", "cases", ["team_id"])
    op.create_index("ix_cases_owner_id", "cases", ["owner_id"])
    op.create_index("ix_cases_destroy_after", "cases", ["destroy_after"])
    op.create_table(
        "case_keys",
        sa.Column(
            "case_id",
            sa.String(36),
            sa.ForeignKey("cases.id", name=op.f("fk_case_keys_case_id_cases")),
            nullable=False,
        ),
        sa.Column("kek_version", sa.Integer(), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_case_keys")),
    )
    op.create_index("ix_case_keys_kek_version", "case_keys", ["kek_version"])
    op.create_table(
        "documents",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column(
            "case_id",
            sa.String(36),
            sa.ForeignKey("cases.id", name=op.f("fk_documents_case_id_cases")),
            nullable=False,
        ),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("title_enc", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(64)),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
    )
    op.create_index("ix_documents_case_id_category", "documents", ["case_id", "category"])
    op.create_table(
        "document_versions",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column(
            "document_id",
            sa.String(36),
            sa.ForeignKey("documents.id", name=op.f("fk_document_versions_document_id_documents")),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("blob_id", sa.String(64), nullable=False),
        sa.Column("filename_enc", sa.LargeBinary(), nullable=False),
        sa.Column("content_type", sa.String(127), nullable=False),
        sa.Column("plaintext_length", sa.BigInteger(), nullable=False),
        sa.Column("ciphertext_length", sa.BigInteger(), nullable=False),
        sa.Column("ciphertext_sha256", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(64)),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_versions")),
        sa.UniqueConstraint("blob_id", name=op.f("uq_document_versions_blob_id")),
        sa.UniqueConstraint("document_id", "version", name="uq_document_versions_document_version"),
    )
    op.create_table(
        "case_assignments",
        sa.Column(
            "case_id",
            sa.String(36),
            sa.ForeignKey("cases.id", name=op.f("fk_case_assignments_case_id_cases")),
            nullable=False,
        ),
        sa.Column(
            "user_id",
            sa.String(36),
            sa.ForeignKey("users.id", name=op.f("fk_case_assignments_user_id_users")),
            nullable=False,
        ),
        sa.Column("assigned_at", UTCDateTime(), nullable=False),
        sa.Column("assigned_by", sa.String(64)),
        sa.PrimaryKeyConstraint("case_id", "user_id", name=op.f("pk_case_assignments")),
    )
    op.create_index("ix_case_assignments_user_id", "case_assignments", ["user_id"])
    op.create_table(
        "grants",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column(
            "case_id",
            sa.String(36),
            sa.ForeignKey("cases.id", name=op.f("fk_grants_case_id_cases")),
            nullable=False,
        ),
        sa.Column(
            "org_id",
            sa.String(36),
            sa.ForeignKey("organisations.id", name=op.f("fk_grants_org_id_organisations")),
            nullable=False,
        ),
        sa.Column("purpose", sa.String(64), nullable=False),
        sa.Column("legal_basis", sa.String(64), nullable=False),
        sa.Column("consent_reference", sa.String(64)),
        sa.Column("valid_from", UTCDateTime(), nullable=False),
        sa.Column("valid_until", UTCDateTime(), nullable=False),
        sa.Column("max_retrievals", sa.Integer(), nullable=False),
        sa.Column("retrievals_used", sa.Integer(), nullable=False),
        sa.Column("reporter_identity_released", sa.Boolean(), nullable=False),
        sa.Column("revoked_at", UTCDateTime()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(64)),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grants")),
    )
    op.create_index("ix_grants_org_id_case_id", "grants", ["org_id", "case_id"])
    op.create_index("ix_grants_case_id", "grants", ["case_id"])
    op.create_table(
        "grant_items",
        sa.Column(
            "grant_id",
            sa.String(36),
            sa.ForeignKey("grants.id", name=op.f("fk_grant_items_grant_id_grants")),
            nullable=False,
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("ref", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("grant_id", "kind", "ref", name=op.f("pk_grant_items")),
    )


def downgrade() -> None:
    op.drop_table("grant_items")
    op.drop_index("ix_grants_case_id", table_name="grants")
    op.drop_index("ix_grants_org_id_case_id", table_name="grants")
    op.drop_table("grants")
    op.drop_index("ix_case_assignments_user_id", table_name="case_assignments")
    op.drop_table("case_assignments")
    op.drop_table("document_versions")
    op.drop_index("ix_documents_case_id_category", table_name="documents")
    op.drop_table("documents")
    op.drop_index("ix_case_keys_kek_version", table_name="case_keys")
    op.drop_table("case_keys")
    op.drop_index("ix_cases_destroy_after", table_name="cases")
    op.drop_index("ix_cases_owner_id", table_name="cases")
    op.drop_index("ix_cases_team_id", table_name="cases")
    op.drop_table("cases")
