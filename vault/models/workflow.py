"""The Veilig Thuis way of working on a case: deadlines, triage outcome, investigation, monitoring,
the advice client's pseudonym (D3) and own-motion conversions (D4). No personal data in clear."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from vault.models.base import Base, UTCDateTime

__all__ = [
    "CaseWorkflow",
    "ClientReidentification",
    "ClientReidentificationMatch",
    "MonitoringCheck",
    "MonitoringPostponement",
    "OwnMotionApproval",
    "OwnMotionConversion",
]


class CaseWorkflow(Base):
    """One row per case. Dates are Dutch calendar dates (``vault.services.calendar``)."""

    __tablename__ = "case_workflows"

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    client_pseudonym: Mapped[str | None] = mapped_column(String(64))  # D3: BSN, else name + birth date
    # D3: the name + date of birth pseudonym too, when the advice recorded a BSN *and* them.
    client_pseudonym_name_dob: Mapped[str | None] = mapped_column(String(64))
    meldcode_step: Mapped[int | None] = mapped_column(Integer)  # D3: 1..5
    triage_due: Mapped[date | None] = mapped_column(Date)  # D5
    triage_outcome: Mapped[str | None] = mapped_column(String(40))  # D6: TriageOutcome
    triage_decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    triage_decided_by: Mapped[str | None] = mapped_column(String(64))
    handover_org_id: Mapped[str | None] = mapped_column(ForeignKey("organisations.id"))
    investigation_start_due: Mapped[date | None] = mapped_column(Date)
    investigation_started_on: Mapped[date | None] = mapped_column(Date)
    judgement_due: Mapped[date | None] = mapped_column(Date)
    investigation_ended_on: Mapped[date | None] = mapped_column(Date)
    converted_from: Mapped[str | None] = mapped_column(String(32))  # D4: the advice kind it was
    converted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_case_workflows_client_pseudonym", "client_pseudonym"),
        Index("ix_case_workflows_client_pseudonym_name_dob", "client_pseudonym_name_dob"),
        Index("ix_case_workflows_triage_due", "triage_due"),
        Index("ix_case_workflows_investigation_start_due", "investigation_start_due"),
        Index("ix_case_workflows_judgement_due", "judgement_due"),
    )


class MonitoringCheck(Base):
    """D7: a monitoring moment, ``months`` after the end of the investigation."""

    __tablename__ = "monitoring_checks"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), nullable=False)
    months: Mapped[int] = mapped_column(Integer, nullable=False)
    due_on: Mapped[date] = mapped_column(Date, nullable=False)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done_by: Mapped[str | None] = mapped_column(String(64))
    # D7: a postponed moment keeps its first due date; ``due_on`` is the new one (a reason code).
    postponed_from: Mapped[date | None] = mapped_column(Date)
    postpone_reason: Mapped[str | None] = mapped_column(String(32))
    postponed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    postponed_by: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_monitoring_checks_due_on", "due_on"),
        Index("ix_monitoring_checks_case_id", "case_id"),
    )


class MonitoringPostponement(Base):
    """D7: one postponement of a monitoring moment (a moment postponed twice keeps both reasons; the
    moment's own row holds only the last). A reason code, no free text; removed with the case (D12)."""

    __tablename__ = "monitoring_postponements"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), nullable=False)
    check_id: Mapped[str] = mapped_column(ForeignKey("monitoring_checks.id"), nullable=False)
    due_before: Mapped[date] = mapped_column(Date, nullable=False)
    due_after: Mapped[date] = mapped_column(Date, nullable=False)
    reason: Mapped[str] = mapped_column(String(32), nullable=False)
    postponed_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    postponed_by: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_monitoring_postponements_check_id", "check_id"),
        Index("ix_monitoring_postponements_case_id", "case_id"),
    )


class OwnMotionConversion(Base):
    """D4: a pending (or completed) conversion of an advice case into a report without consent.

    ``status``: ``pending`` → ``converted``, ``withdrawn`` or ``declined``. The reason is sealed under the
    case DEK. ``decided_by``/``decided_at``: who withdrew or declined it and when; ``decline_reason``: a
    code of ``own_motion.DeclineReason`` (never free text), only for ``declined``.
    """

    __tablename__ = "own_motion_conversions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), nullable=False)
    reason_enc: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    requested_by: Mapped[str] = mapped_column(String(64), nullable=False)
    converted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decline_reason: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (Index("ix_own_motion_conversions_case_id", "case_id"),)


class OwnMotionApproval(Base):
    """One approver's approval of a conversion; one per person, with the discipline (role) they had."""

    __tablename__ = "own_motion_approvals"

    conversion_id: Mapped[str] = mapped_column(ForeignKey("own_motion_conversions.id"), primary_key=True)
    approver_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    approver_role: Mapped[str] = mapped_column(String(32), nullable=False)
    approved_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class ClientReidentification(Base):
    """D3: a team leader re-identified an advice client. The reason code in clear; the typed
    explanation sealed (FIELD_METADATA subkey, bound to this row); no identifier, no pseudonym.
    D11: the explanation is erased (NULL) once every case it matched is destroyed."""

    __tablename__ = "client_reidentifications"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    actor_id: Mapped[str] = mapped_column(String(64), nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    reason_code: Mapped[str] = mapped_column(String(32), nullable=False)
    explanation_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    searched_by: Mapped[str] = mapped_column(String(16), nullable=False)  # bsn, name_dob, bsn+name_dob
    matches: Mapped[int] = mapped_column(Integer, nullable=False)

    __table_args__ = (Index("ix_client_reidentifications_at", "at"),)


class ClientReidentificationMatch(Base):
    """D3/D11: a case a re-identification matched (ids only, as in its audit entries), so that the
    explanation can be erased when the last of them is destroyed (``lookup.forget_reidentifications``).

    Kept when the case is destroyed, like the audit entries that name it: the column is deliberately
    not called ``case_id``, which destruction takes for a row of the case's content and deletes."""

    __tablename__ = "client_reidentification_matches"

    reidentification_id: Mapped[str] = mapped_column(
        ForeignKey("client_reidentifications.id"), primary_key=True
    )
    matched_case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), primary_key=True)

    __table_args__ = (Index("ix_client_reidentification_matches_matched_case_id", "matched_case_id"),)
