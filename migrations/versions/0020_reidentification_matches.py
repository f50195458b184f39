"""D11: the cases a re-identification matched, so its sealed explanation is erased (NULL) once they
are all destroyed.

Existing re-identifications get their matches from their audit entries (one per matched case, object =
the record), and those whose matched cases are all destroyed already lose their explanation now.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("client_reidentifications") as batch:
        batch.alter_column("explanation_enc", existing_type=sa.LargeBinary(), nullable=True)
    op.create_table(
        "client_reidentification_matches",
        sa.Column("reidentification_id", sa.String(36), nullable=False),
        sa.Column("matched_case_id", sa.String(36), nullable=False),
        sa.ForeignKeyConstraint(
            ["reidentification_id"],
            ["client_reidentifications.id"],
            name=op.f("fk_client_reidentification_matches_reidentification_id_client_reidentifications"),
        ),
        sa.ForeignKeyConstraint(
            ["matched_case_id"],
            ["cases.id"],
            name=op.f("fk_client_reidentification_matches_matched_case_id_cases"),
        ),
        sa.PrimaryKeyConstraint(
            "reidentification_id", "matched_case_id", name=op.f("pk_client_reidentification_matches")
        ),
    )
    op.create_index(
        "ix_client_reidentification_matches_matched_case_id",
        "client_reidentification_matches",
        ["matched_case_id"],
    )
    op.execute(
        "INSERT INTO client_reidentification_matches (reidentification_id, matched_case_id) "
        "SELECT DISTINCT r.id, a.case_id FROM audit_entries a "
        "JOIN client_reidentifications r ON r.id = a.object_id "
        "JOIN cases c ON c.id = a.case_id "
        "WHERE a.tag = 'dossier:client:reidentified' AND a.object_type = 'reidentification' "
        "AND a.decision = 'allow'"
    )
    op.execute(
        "UPDATE client_reidentifications SET explanation_enc = NULL "
        "WHERE id IN (SELECT reidentification_id FROM client_reidentification_matches) "
        "AND id NOT IN (SELECT m.reidentification_id FROM client_reidentification_matches m "
        "JOIN cases c ON c.id = m.matched_case_id WHERE c.destroyed_at IS NULL)"
    )


def downgrade() -> None:
    op.drop_index(
        "ix_client_reidentification_matches_matched_case_id", table_name="client_reidentification_matches"
    )
    op.drop_table("client_reidentification_matches")
    # An erased explanation stays unreadable: an empty ciphertext, as a destroyed document's title.
    op.get_bind().execute(
        sa.text("UPDATE client_reidentifications SET explanation_enc = :empty WHERE explanation_enc IS NULL"),
        {"empty": b""},
    )
    with op.batch_alter_table("client_reidentifications") as batch:
        batch.alter_column("explanation_enc", existing_type=sa.LargeBinary(), nullable=False)
