"""D9, D13: a share consent given by the child names which child (``consents.subject_id``).

A consent names a relation (``given_by``); for "the child" the recording now names the child subject
whose age (12 or older on the day, by the recorded date of birth) was checked. Nullable: every other
giver names none, and a child's consent recorded before this revision keeps NULL, so it carries no new
disclosure or extension (``consents.check_sharing_consent``, rule ``d9-consent-giver``): the worker
records it again, naming the child. Existing rows are kept as they are.

``ON DELETE SET NULL``: destroying a case deletes its subjects before its consents (D12).

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("consents") as batch:
        batch.add_column(sa.Column("subject_id", sa.String(36), nullable=True))
        batch.create_foreign_key(
            op.f("fk_consents_subject_id_subjects"), "subjects", ["subject_id"], ["id"], ondelete="SET NULL"
        )


def downgrade() -> None:
    with op.batch_alter_table("consents") as batch:
        batch.drop_constraint(op.f("fk_consents_subject_id_subjects"), type_="foreignkey")
        batch.drop_column("subject_id")
