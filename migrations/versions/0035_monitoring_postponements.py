"""D7: every postponement of a monitoring moment is kept (``monitoring_postponements``).

A moment's row holds its first due date (``postponed_from``) and only the last postponement's reason
code; a moment postponed twice lost why it was delayed the first time, and the log deliberately holds
no reason (it is about the family). Each postponement now adds a row: the due date before and after,
the reason code, when and by whom. No free text. A case's destruction removes its rows with its other
content (D12).

Existing postponed moments get one row from what their own row still holds (first due date, current
due date, last reason); earlier reasons of a moment postponed more than once before this revision were
never stored.

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-07
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

from vault.models.base import UTCDateTime

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "monitoring_postponements",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("case_id", sa.String(36), nullable=False),
        sa.Column("check_id", sa.String(36), nullable=False),
        sa.Column("due_before", sa.Date(), nullable=False),
        sa.Column("due_after", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("postponed_at", UTCDateTime(), nullable=False),
        sa.Column("postponed_by", sa.String(64), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_monitoring_postponements_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["check_id"],
            ["monitoring_checks.id"],
            name=op.f("fk_monitoring_postponements_check_id_monitoring_checks"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_postponements")),
    )
    op.create_index("ix_monitoring_postponements_check_id", "monitoring_postponements", ["check_id"])
    op.create_index("ix_monitoring_postponements_case_id", "monitoring_postponements", ["case_id"])
    checks = sa.table(
        "monitoring_checks",
        sa.column("id", sa.String),
        sa.column("case_id", sa.String),
        sa.column("due_on", sa.Date),
        sa.column("postponed_from", sa.Date),
        sa.column("postpone_reason", sa.String),
        sa.column("postponed_at", UTCDateTime()),
        sa.column("postponed_by", sa.String),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(checks).where(
            checks.c.postponed_from.is_not(None),
            checks.c.postpone_reason.is_not(None),
            checks.c.postponed_at.is_not(None),
        )
    ).all()
    if rows:
        op.bulk_insert(
            table,
            [
                {
                    "id": str(uuid.uuid4()),
                    "case_id": r.case_id,
                    "check_id": r.id,
                    "due_before": r.postponed_from,
                    "due_after": r.due_on,
                    "reason": r.postpone_reason,
                    "postponed_at": r.postponed_at,
                    "postponed_by": r.postponed_by,
                }
                for r in rows
            ],
        )


def downgrade() -> None:
    op.drop_index("ix_monitoring_postponements_case_id", table_name="monitoring_postponements")
    op.drop_index("ix_monitoring_postponements_check_id", table_name="monitoring_postponements")
    op.drop_table("monitoring_postponements")
