"""Inzage: per-item staff review of free text (document titles) before it enters a copy (D13, D22).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from vault.models.base import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inzage_item_reviews",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column(
            "access_request_id",
            sa.String(36),
            sa.ForeignKey(
                "access_requests.id", name=op.f("fk_inzage_item_reviews_access_request_id_access_requests")
            ),
            nullable=False,
        ),
        sa.Column("item_kind", sa.String(32), nullable=False),
        sa.Column("item_ref", sa.String(64), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("reviewed_sha256", sa.String(64), nullable=False),
        sa.Column("decided_at", UTCDateTime(), nullable=False),
        sa.Column("decided_by", sa.String(64)),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inzage_item_reviews")),
        sa.UniqueConstraint(
            "access_request_id",
            "item_kind",
            "item_ref",
            name=op.f("uq_inzage_item_reviews_access_request_id"),
        ),
    )


def downgrade() -> None:
    op.drop_table("inzage_item_reviews")
