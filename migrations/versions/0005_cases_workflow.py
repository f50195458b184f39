"""Cases and the Veilig Thuis way of working: subjects, reporter identity, consents, workflow,
monitoring, own-motion conversions.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from vault.models.base import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _case_fk(table: str) -> sa.Column[str]:
    return sa.Column(
        "case_id",
        sa.String(36),
        sa.ForeignKey("cases.id", name=op.f(f"fk_{table}_case_id_cases")),
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "consents",
        sa.Column("id", sa.String(36), nullable=False),
        _case_fk("consents"),
        sa.Column("scope", sa.String(32), nullable=False),
        sa.Column("given_by", sa.String(32), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        sa.Column("withdrawn_at", UTCDateTime()),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
    )
    op.create_index("ix_consents_case_id", "consents", ["case_id"])
    op.create_table(
        "subjects",
        sa.Column("id", sa.String(36), nullable=False),
        _case_fk("subjects"),
        sa.Column("relation", sa.String(32), nullable=False),
        sa.Column("name_enc", sa.LargeBinary()),
        sa.Column("bsn_enc", sa.LargeBinary()),
        sa.Column("date_of_birth_enc", sa.LargeBinary()),
        sa.Column("address_enc", sa.LargeBinary()),
        sa.Column("bsn_index", sa.String(64)),
        sa.Column("person_index", sa.String(64)),
        sa.Column(
            "consent_id",
            sa.String(36),
            sa.ForeignKey("consents.id", name=op.f("fk_subjects_consent_id_consents")),
        ),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(64)),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subjects")),
    )
    op.create_index("ix_subjects_case_id", "subjects", ["case_id"])
    op.create_index("ix_subjects_bsn_index", "subjects", ["bsn_index"])
    op.create_index("ix_subjects_person_index", "subjects", ["person_index"])
    op.create_table(
        "reporter_identities",
        _case_fk("reporter_identities"),
        sa.Column("professional", sa.Boolean(), nullable=False),
        sa.Column("name_enc", sa.LargeBinary(), nullable=False),
        sa.Column("contact_enc", sa.LargeBinary()),
        sa.Column("organisation_enc", sa.LargeBinary()),
        sa.Column("consent_to_disclose", sa.Boolean(), nullable=False),
        sa.Column("consent_recorded_at", UTCDateTime()),
        sa.Column("consent_recorded_by", sa.String(64)),
        sa.Column("release_reason_enc", sa.LargeBinary()),
        sa.Column("released_at", UTCDateTime()),
        sa.Column("released_by", sa.String(64)),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(64)),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_reporter_identities")),
    )
    op.create_table(
        "case_workflows",
        _case_fk("case_workflows"),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("client_pseudonym", sa.String(64)),
        sa.Column("meldcode_step", sa.Integer()),
        sa.Column("triage_due", sa.Date()),
        sa.Column("triage_outcome", sa.String(40)),
        sa.Column("triage_decided_at", UTCDateTime()),
        sa.Column("triage_decided_by", sa.String(64)),
        sa.Column(
            "handover_org_id",
            sa.String(36),
            sa.ForeignKey("organisations.id", name=op.f("fk_case_workflows_handover_org_id_organisations")),
        ),
        sa.Column("investigation_start_due", sa.Date()),
        sa.Column("investigation_started_on", sa.Date()),
        sa.Column("judgement_due", sa.Date()),
        sa.Column("investigation_ended_on", sa.Date()),
        sa.Column("converted_from", sa.String(32)),
        sa.Column("converted_at", UTCDateTime()),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_case_workflows")),
    )
    op.create_index("ix_case_workflows_client_pseudonym", "case_workflows", ["client_pseudonym"])
    op.create_index("ix_case_workflows_triage_due", "case_workflows", ["triage_due"])
    op.create_index(
        "ix_case_workflows_investigation_start_due", "case_workflows", ["investigation_start_due"]
    )
    op.create_index("ix_case_workflows_judgement_due", "case_workflows", ["judgement_due"])
    op.create_table(
        "monitoring_checks",
        sa.Column("id", sa.String(36), nullable=False),
        _case_fk("monitoring_checks"),
        sa.Column("months", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("done_at", UTCDateTime()),
        sa.Column("done_by", sa.String(64)),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_checks")),
    )
    op.create_index("ix_monitoring_checks_due_on", "monitoring_checks", ["due_on"])
    op.create_index("ix_monitoring_checks_case_id", "monitoring_checks", ["case_id"])
    op.create_table(
        "own_motion_conversions",
        sa.Column("id", sa.String(36), nullable=False),
        _case_fk("own_motion_conversions"),
        sa.Column("reason_enc", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("requested_at", UTCDateTime(), nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("converted_at", UTCDateTime()),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_own_motion_conversions")),
    )
    op.create_index("ix_own_motion_conversions_case_id", "own_motion_conversions", ["case_id"])
    op.create_table(
        "own_motion_approvals",
        sa.Column(
            "conversion_id",
            sa.String(36),
            sa.ForeignKey(
                "own_motion_conversions.id",
                name=op.f("fk_own_motion_approvals_conversion_id_own_motion_conversions"),
            ),
            nullable=False,
        ),
        sa.Column(
            "approver_id",
            sa.String(36),
            sa.ForeignKey("users.id", name=op.f("fk_own_motion_approvals_approver_id_users")),
            nullable=False,
        ),
        sa.Column("approver_role", sa.String(32), nullable=False),
        sa.Column("approved_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("conversion_id", "approver_id", name=op.f("pk_own_motion_approvals")),
    )


def downgrade() -> None:
    op.drop_table("own_motion_approvals")
    op.drop_index("ix_own_motion_conversions_case_id", table_name="own_motion_conversions")
    op.drop_table("own_motion_conversions")
    op.drop_index("ix_monitoring_checks_case_id", table_name="monitoring_checks")
    op.drop_index("ix_monitoring_checks_due_on", table_name="monitoring_checks")
    op.drop_table("monitoring_checks")
    for name in ("judgement_due", "investigation_start_due", "triage_due", "client_pseudonym"):
        op.drop_index(f"ix_case_workflows_{name}", table_name="case_workflows")
    op.drop_table("case_workflows")
    op.drop_table("reporter_identities")
    op.drop_index("ix_subjects_person_index", table_name="subjects")
    op.drop_index("ix_subjects_bsn_index", table_name="subjects")
    op.drop_index("ix_subjects_case_id", table_name="subjects")
    op.drop_table("subjects")
    op.drop_index("ix_consents_case_id", table_name="consents")
    op.drop_table("consents")
