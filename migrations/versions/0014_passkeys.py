"""Passkeys (WebAuthn): the credentials of each account and the single-use ceremony challenges.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from vault.models.base import UTCDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("auth_sessions", sa.Column("passkey_enrolment_until", UTCDateTime()))
    op.create_table(
        "passkey_credentials",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column(
            "user_id",
            sa.String(36),
            sa.ForeignKey("users.id", name=op.f("fk_passkey_credentials_user_id_users")),
            nullable=False,
        ),
        sa.Column("credential_id", sa.String(1400), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("sign_count", sa.BigInteger(), nullable=False),
        sa.Column("transports", sa.String(200), nullable=False),
        sa.Column("backup_eligible", sa.Boolean(), nullable=False),
        sa.Column("backed_up", sa.Boolean(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_used_at", UTCDateTime()),
        sa.Column("suspect_at", UTCDateTime()),
        sa.Column("revoked_at", UTCDateTime()),
        sa.Column("revoked_by", sa.String(36)),
        sa.Column("revoke_reason", sa.String(32)),
        sa.Column("revocation_seen_at", UTCDateTime()),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_passkey_credentials")),
        sa.UniqueConstraint("credential_id", name=op.f("uq_passkey_credentials_credential_id")),
    )
    op.create_index("ix_passkey_credentials_user_id", "passkey_credentials", ["user_id"])
    op.create_table(
        "passkey_challenges",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column(
            "session_id",
            sa.String(36),
            sa.ForeignKey("auth_sessions.id", name=op.f("fk_passkey_challenges_session_id_auth_sessions")),
            nullable=False,
        ),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("challenge", sa.String(128), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime()),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_passkey_challenges")),
    )
    op.create_index(
        "ix_passkey_challenges_session_id_purpose", "passkey_challenges", ["session_id", "purpose"]
    )


def downgrade() -> None:
    op.drop_index("ix_passkey_challenges_session_id_purpose", table_name="passkey_challenges")
    op.drop_table("passkey_challenges")
    op.drop_index("ix_passkey_credentials_user_id", table_name="passkey_credentials")
    op.drop_table("passkey_credentials")
    with op.batch_alter_table("auth_sessions") as batch:
        batch.drop_column("passkey_enrolment_until")
