"""Subjects (betrokkenen), consents (D2) and the reporter's identity (D8).

Personal fields are sealed under the case DEK with associated data (table, column, row id); each
subject also gets keyed blind indexes (D19) so the person lookup never decrypts a dossier. Reading
these fields happens only through the gate (`vault.services.case_view`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from vault.context import Context
from vault.crypto.envelope import DataKey
from vault.crypto.fields import encrypt_text
from vault.crypto.index import (
    blind_index_bsn,
    blind_index_person,
    normalise_bsn,
    normalise_date,
    normalise_name,
)
from vault.crypto.keys import SubkeyPurpose
from vault.domain import AuditTag, CaseKind, Category
from vault.errors import Conflict, Forbidden, InvalidInput, NotFound
from vault.models import Case, Consent, ReporterIdentity, Subject
from vault.runtime import Vault
from vault.services.casework import RuleRefused, gated_write
from vault.services.documents import touch_case
from vault.services.gate import Admission

__all__ = [
    "ConsentScope",
    "PersonFields",
    "Relation",
    "ReporterFields",
    "add_subject",
    "live_consent",
    "record_consent",
    "record_reporter_consent",
    "release_professional_reporter",
    "seal_reporter_identity",
    "seal_subject",
    "seal_subjects",
    "withdraw_consent",
]

_MAX_FIELD = 255
_MAX_REASON = 1000


class Relation(StrEnum):
    """How a subject relates to the case."""

    HELP_SEEKER = "help_seeker"
    CHILD = "child"
    PARENT = "parent"
    PARTNER = "partner"
    HOUSEHOLD_MEMBER = "household_member"
    ALLEGED_PERPETRATOR = "alleged_perpetrator"
    OTHER = "other"


class ConsentScope(StrEnum):
    REGISTER_PERSONAL_DATA = "register_personal_data"  # D2: seed 000
    SHARE_WITH_PARTNER = "share_with_partner"  # D9: a disclosure resting on consent


def _clean(value: str | None, what: str, limit: int = _MAX_FIELD) -> str | None:
    if value is None:
        return None
    value = " ".join(value.split())
    if not value:
        return None
    if len(value) > limit or any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise InvalidInput(f"{what} must be at most {limit} printable characters")
    return value


@dataclass(frozen=True, repr=False)
class PersonFields:
    """A person's identifying fields; every one optional. Never printed (repr is ``***``)."""

    name: str | None = None
    bsn: str | None = None
    date_of_birth: date | None = None
    address: str | None = None

    def __repr__(self) -> str:
        return "PersonFields(***)"

    @property
    def identifying(self) -> bool:
        return any(v is not None for v in (self.name, self.bsn, self.date_of_birth, self.address))

    def checked(self) -> PersonFields:
        """Cleaned copy; the BSN must pass the eleven-test (the error never echoes it)."""
        name = _clean(self.name, "name")
        bsn = normalise_bsn(self.bsn) if self.bsn is not None and self.bsn.strip() else None
        if name is not None:
            normalise_name(name)
        if self.date_of_birth is not None:
            normalise_date(self.date_of_birth)
        return PersonFields(name, bsn, self.date_of_birth, _clean(self.address, "address"))


@dataclass(frozen=True, repr=False)
class ReporterFields:
    """D8: who reports. ``professional``: a professional acting under the meldcode."""

    name: str
    professional: bool
    contact: str | None = None
    organisation: str | None = None

    def __repr__(self) -> str:
        return f"ReporterFields(***, professional={self.professional})"


def _seal(dek: DataKey, table: str, column: str, row_id: str, value: str | None) -> bytes | None:
    return (
        None if value is None else encrypt_text(dek, table=table, column=column, row_id=row_id, value=value)
    )


def seal_subject(
    session: Session,
    vault: Vault,
    ctx: Context,
    dek: DataKey,
    *,
    case_id: str,
    relation: Relation,
    fields: PersonFields,
    consent_id: str | None = None,
    subject_id: str | None = None,
) -> Subject:
    """A subject row with sealed fields and blind indexes (D18, D19); the caller checks the rules."""
    fields = fields.checked()
    key = vault.keys.subkey(SubkeyPurpose.BLIND_INDEX)
    subject = Subject(
        id=subject_id or str(uuid.uuid4()),
        case_id=case_id,
        relation=str(relation),
        consent_id=consent_id,
        created_at=ctx.now(),
        created_by=ctx.actor_id,
        bsn_index=blind_index_bsn(key, fields.bsn) if fields.bsn else None,
        person_index=(
            blind_index_person(key, fields.name, fields.date_of_birth)
            if fields.name and fields.date_of_birth
            else None
        ),
    )
    dob = fields.date_of_birth.isoformat() if fields.date_of_birth else None
    subject.name_enc = _seal(dek, "subjects", "name", subject.id, fields.name)
    subject.bsn_enc = _seal(dek, "subjects", "bsn", subject.id, fields.bsn)
    subject.date_of_birth_enc = _seal(dek, "subjects", "date_of_birth", subject.id, dob)
    subject.address_enc = _seal(dek, "subjects", "address", subject.id, fields.address)
    session.add(subject)
    session.flush()
    return subject


def seal_reporter_identity(
    session: Session, ctx: Context, dek: DataKey, *, case_id: str, reporter: ReporterFields
) -> ReporterIdentity:
    """D8: the reporter's identity in its own table, every field sealed under the case DEK."""
    name = _clean(reporter.name, "reporter name")
    if name is None:
        raise InvalidInput("a report needs the reporter's name")
    row = ReporterIdentity(
        case_id=case_id,
        professional=bool(reporter.professional),
        name_enc=encrypt_text(dek, table="reporter_identities", column="name", row_id=case_id, value=name),
        contact_enc=_seal(
            dek, "reporter_identities", "contact", case_id, _clean(reporter.contact, "contact")
        ),
        organisation_enc=_seal(
            dek, "reporter_identities", "organisation", case_id, _clean(reporter.organisation, "organisation")
        ),
        consent_to_disclose=False,
        created_at=ctx.now(),
        created_by=ctx.actor_id,
    )
    session.add(row)
    session.flush()
    return row


def live_consent(
    session: Session, case_id: str, scope: ConsentScope, consent_id: str | None = None
) -> Consent | None:
    stmt = select(Consent).where(
        Consent.case_id == case_id, Consent.scope == str(scope), Consent.withdrawn_at.is_(None)
    )
    if consent_id is not None:
        stmt = stmt.where(Consent.id == consent_id)
    return session.scalars(stmt.order_by(Consent.recorded_at.desc()).limit(1)).first()


def _case(session: Session, case_id: str) -> Case:
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound("no such case")
    return case


def add_subject(
    vault: Vault,
    ctx: Context,
    case_id: str,
    *,
    relation: Relation,
    fields: PersonFields,
    consent_id: str | None = None,
) -> str:
    """Add a person to a case (WRITE on ``subjects``, through the gate).

    D2: on a help seeker's advice case identifying fields need a live recorded consent to register
    personal data. D3: a professional's advice case holds its client only as a pseudonym.
    """
    fields = fields.checked()
    subject_id = str(uuid.uuid4())

    def write(session: Session, admission: Admission) -> str:
        assert admission.dek is not None
        case = _case(session, case_id)
        kind = CaseKind(case.kind)
        if kind is CaseKind.ADVICE_PROFESSIONAL:
            raise RuleRefused(
                Forbidden("a professional's advice case holds its client only as a pseudonym (D3)"),
                "d3-pseudonym-only",
            )
        consent: Consent | None = None
        if kind is CaseKind.ADVICE_HELP_SEEKER and fields.identifying:
            consent = live_consent(session, case_id, ConsentScope.REGISTER_PERSONAL_DATA, consent_id)
            if consent is None:
                raise RuleRefused(
                    Forbidden(
                        "identifying data on an advice case needs the help seeker's recorded consent (D2)"
                    ),
                    "d2-consent-required",
                )
        subject = seal_subject(
            session,
            vault,
            ctx,
            admission.dek,
            case_id=case_id,
            relation=relation,
            fields=fields,
            consent_id=consent.id if consent else None,
            subject_id=subject_id,
        )
        touch_case(case, ctx)
        return subject.id

    return gated_write(
        vault,
        ctx,
        case_id,
        category=Category.SUBJECTS,
        tag=AuditTag.DOSSIER_SUBJECT_ADDED,
        object_type="subject",
        object_id=subject_id,
        then=write,
    )


def record_consent(
    vault: Vault, ctx: Context, case_id: str, *, scope: ConsentScope, given_by: Relation
) -> str:
    """Record a consent given in a conversation: who recorded it (the actor), when, and its scope.

    The audit entry (the gate's) names the consent id; scope and giver are in the row."""
    consent_id = str(uuid.uuid4())

    def write(session: Session, admission: Admission) -> str:
        case = _case(session, case_id)
        consent = Consent(
            id=consent_id,
            case_id=case_id,
            scope=str(scope),
            given_by=str(given_by),
            recorded_at=ctx.now(),
            recorded_by=ctx.actor_id or "unknown",
        )
        session.add(consent)
        touch_case(case, ctx)
        session.flush()
        return consent.id

    return gated_write(
        vault,
        ctx,
        case_id,
        category=None,
        tag=AuditTag.DOSSIER_CONSENT_RECORDED,
        object_type="consent",
        object_id=consent_id,
        then=write,
    )


def withdraw_consent(vault: Vault, ctx: Context, case_id: str, consent_id: str) -> None:
    """A consent can be withdrawn; data registered under it stays (deletion is a separate request, D12)."""

    def write(session: Session, admission: Admission) -> None:
        consent = session.get(Consent, consent_id)
        if consent is None or consent.case_id != case_id:
            raise NotFound("no such consent")
        if consent.withdrawn_at is not None:
            raise Conflict("this consent was already withdrawn")
        consent.withdrawn_at = ctx.now()
        touch_case(_case(session, case_id), ctx)

    gated_write(
        vault,
        ctx,
        case_id,
        category=None,
        tag=AuditTag.DOSSIER_CONSENT_WITHDRAWN,
        object_type="consent",
        object_id=consent_id,
        then=write,
    )


def _reporter(session: Session, case_id: str) -> ReporterIdentity:
    row = session.get(ReporterIdentity, case_id)
    if row is None:
        raise NotFound("this case has no recorded reporter")
    return row


def record_reporter_consent(vault: Vault, ctx: Context, case_id: str) -> None:
    """D8: the reporter consented to the disclosure of their identity."""

    def write(session: Session, admission: Admission) -> None:
        row = _reporter(session, case_id)
        row.consent_to_disclose = True
        row.consent_recorded_at = ctx.now()
        row.consent_recorded_by = ctx.actor_id
        touch_case(_case(session, case_id), ctx)

    gated_write(
        vault,
        ctx,
        case_id,
        category=Category.REPORTER_IDENTITY,
        tag=AuditTag.DOSSIER_REPORTER_IDENTITY_CONSENT,
        object_type="reporter_identity",
        object_id=case_id,
        then=write,
    )


def release_professional_reporter(vault: Vault, ctx: Context, case_id: str, *, reason: str) -> None:
    """D8: staff release a *professional* reporter's identity, with a reason (sealed: it may name people).

    Refused for a non-professional reporter: their identity leaves only with their own consent.
    """
    text = _clean(reason, "reason", _MAX_REASON)
    if text is None or len(text) < 10:
        raise InvalidInput("a release needs a reason of at least 10 characters")

    def write(session: Session, admission: Admission) -> None:
        assert admission.dek is not None
        row = _reporter(session, case_id)
        if not row.professional:
            raise RuleRefused(
                Forbidden("a non-professional reporter's identity is disclosed only with their consent (D8)"),
                "d8-consent-only",
            )
        row.release_reason_enc = encrypt_text(
            admission.dek, table="reporter_identities", column="release_reason", row_id=case_id, value=text
        )
        row.released_at = ctx.now()
        row.released_by = ctx.actor_id
        touch_case(_case(session, case_id), ctx)

    gated_write(
        vault,
        ctx,
        case_id,
        category=Category.REPORTER_IDENTITY,
        tag=AuditTag.DOSSIER_REPORTER_IDENTITY_RELEASED,
        object_type="reporter_identity",
        object_id=case_id,
        then=write,
    )


def seal_subjects(
    session: Session,
    vault: Vault,
    ctx: Context,
    dek: DataKey,
    case_id: str,
    subjects: Sequence[tuple[Relation, PersonFields]],
) -> list[str]:
    return [
        seal_subject(session, vault, ctx, dek, case_id=case_id, relation=r, fields=f).id for r, f in subjects
    ]
