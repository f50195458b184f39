"""D14, D16: journal notes are append-only in the database too, and new notes bind their metadata.

``case_notes.seal_version``: 1 for notes written before (associated data binds the note id only; not
re-sealed), 2 for notes written from now on (``vault.services.journal.open_note``: id, case, author,
time and corrected note are bound into the associated data of the text).

Triggers refuse every UPDATE of ``case_notes`` and every DELETE unless the note's case has
``destroyed_at`` set (``vault.services.destruction`` sets it, flushed, before it removes the content
rows, in the same transaction); on PostgreSQL TRUNCATE is refused too. As ``audit_entries`` (0001).
A later migration that rebuilds ``case_notes`` on SQLite (batch mode) must create the triggers again.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None

_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION case_notes_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' AND EXISTS (
        SELECT 1 FROM cases WHERE cases.id = OLD.case_id AND cases.destroyed_at IS NOT NULL
    ) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'case_notes is append-only';
END;
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    op.add_column("case_notes", sa.Column("seal_version", sa.Integer(), nullable=False, server_default="1"))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        op.execute(
            "CREATE TRIGGER case_notes_no_update_delete BEFORE UPDATE OR DELETE ON case_notes "
            "FOR EACH ROW EXECUTE FUNCTION case_notes_append_only()"
        )
        op.execute(
            "CREATE TRIGGER case_notes_no_truncate BEFORE TRUNCATE ON case_notes "
            "FOR EACH STATEMENT EXECUTE FUNCTION case_notes_append_only()"
        )
    else:
        op.execute(
            "CREATE TRIGGER case_notes_no_update BEFORE UPDATE ON case_notes "
            "BEGIN SELECT RAISE(ABORT, 'case_notes is append-only'); END"
        )
        op.execute(
            "CREATE TRIGGER case_notes_no_delete BEFORE DELETE ON case_notes "
            "WHEN NOT EXISTS (SELECT 1 FROM cases "
            "WHERE cases.id = OLD.case_id AND cases.destroyed_at IS NOT NULL) "
            "BEGIN SELECT RAISE(ABORT, 'case_notes is append-only'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS case_notes_no_truncate ON case_notes")
        op.execute("DROP TRIGGER IF EXISTS case_notes_no_update_delete ON case_notes")
        op.execute("DROP FUNCTION IF EXISTS case_notes_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS case_notes_no_delete")
        op.execute("DROP TRIGGER IF EXISTS case_notes_no_update")
    with op.batch_alter_table("case_notes") as batch:
        batch.drop_column("seal_version")
