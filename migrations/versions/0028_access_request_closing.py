"""D13: ``access_requests.closing_code``, why a request was closed without an inzage copy made for it
(a code of ``rights.AccessClosing``: withdrawn, identity_not_established, manifestly_unfounded; never
free text), so that the request's page and the API can say how it was answered. Null: open, or answered
with a copy. Requests closed before keep their reason in their audit entry (``rights:access:completed``,
details ``closing``); it is copied here from that entry, which stays as it is.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-06
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

_CODES = frozenset({"withdrawn", "identity_not_established", "manifestly_unfounded"})


def _closing_of(details: str | None) -> str | None:
    try:
        code = json.loads(details or "{}").get("closing")
    except (ValueError, AttributeError):
        return None
    return code if code in _CODES else None


def upgrade() -> None:
    with op.batch_alter_table("access_requests") as batch:
        batch.add_column(sa.Column("closing_code", sa.String(32), nullable=True))
    bind = op.get_bind()
    entries = sa.table(
        "audit_entries",
        sa.column("tag", sa.String),
        sa.column("decision", sa.String),
        sa.column("object_type", sa.String),
        sa.column("object_id", sa.String),
        sa.column("details", sa.Text),
    )
    requests = sa.table("access_requests", sa.column("id", sa.String), sa.column("closing_code", sa.String))
    rows = bind.execute(
        sa.select(entries.c.object_id, entries.c.details).where(
            entries.c.tag == "rights:access:completed",
            entries.c.decision == "allow",
            entries.c.object_type == "access_request",
        )
    ).all()
    for request_id, details in rows:
        code = _closing_of(details)
        if code is not None and request_id:
            bind.execute(sa.update(requests).where(requests.c.id == request_id).values(closing_code=code))


def downgrade() -> None:
    with op.batch_alter_table("access_requests") as batch:
        batch.drop_column("closing_code")
