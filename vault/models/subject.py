"""The people of a case: subjects (betrokkenen), the reporter's identity (D8) and consents (D2).

Personal fields are sealed under the case DEK (`vault.crypto.fields`, associated data = table,
column, row id). ``bsn_index`` / ``person_index`` are keyed blind indexes (D19): they let the vault
answer "was this person known before?" without decrypting any dossier.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from vault.models.base import Base, UTCDateTime

__all__ = ["Consent", "ReporterIdentity", "Subject"]


class Subject(Base):
    """One person in the household the case is about. Every personal field is optional and sealed."""

    __tablename__ = "subjects"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), nullable=False)
    relation: Mapped[str] = mapped_column(String(32), nullable=False)  # vault.services.subjects.Relation
    name_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    bsn_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    date_of_birth_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    address_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    bsn_index: Mapped[str | None] = mapped_column(String(64))
    person_index: Mapped[str | None] = mapped_column(String(64))
    # D21 "own circle": keyed blind index of the address's postcode + house number (vault.crypto.index)
    address_index: Mapped[str | None] = mapped_column(String(64))
    consent_id: Mapped[str | None] = mapped_column(ForeignKey("consents.id"))  # D2: help-seeker advice
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    created_by: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_subjects_case_id", "case_id"),
        Index("ix_subjects_bsn_index", "bsn_index"),
        Index("ix_subjects_person_index", "person_index"),
        Index("ix_subjects_address_index", "address_index"),
    )


class ReporterIdentity(Base):
    """D8: who filed the report, in its own table and category (``reporter_identity``).

    ``consent_to_disclose``: the reporter agreed that their identity may be disclosed. For a
    professional reporter staff may instead release it with a sealed reason (``released_at``).
    The disclosures service reads these flags; nothing else returns this row's sealed fields.
    """

    __tablename__ = "reporter_identities"

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    professional: Mapped[bool] = mapped_column(Boolean, nullable=False)
    name_enc: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    contact_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    organisation_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    consent_to_disclose: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    consent_recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    consent_recorded_by: Mapped[str | None] = mapped_column(String(64))
    release_reason_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    released_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    created_by: Mapped[str | None] = mapped_column(String(64))


class Consent(Base):
    """A recorded consent (D2; also the consent reference a disclosure may rest on, D9).

    ``scope`` is a `vault.services.subjects.ConsentScope` value; ``given_by`` says whose consent it is
    (a relation); for a consent given by the child, ``subject_id`` names which child (D9, D13).
    A ``share_with_partner`` consent names the one organisation it allows sharing with
    (``recipient_org_id``); a ``register_personal_data`` consent names none.
    """

    __tablename__ = "consents"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), nullable=False)
    scope: Mapped[str] = mapped_column(String(32), nullable=False)
    given_by: Mapped[str] = mapped_column(String(32), nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    recorded_by: Mapped[str] = mapped_column(String(64), nullable=False)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    recipient_org_id: Mapped[str | None] = mapped_column(ForeignKey("organisations.id"))  # D9
    # D9, D13: the child who gave a share consent "given by the child" (migration 0033; NULL for every
    # other giver, and for a child's consent recorded before it, which then carries no disclosure).
    # ``use_alter``: subjects.consent_id points back here; the cycle is left out of the table order
    # (destruction deletes subjects first, which clears this link, then consents).
    subject_id: Mapped[str | None] = mapped_column(
        ForeignKey("subjects.id", ondelete="SET NULL", use_alter=True)
    )

    __table_args__ = (Index("ix_consents_case_id", "case_id"),)
