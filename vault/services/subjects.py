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

from vault.audit import record
from vault.context import Context
from vault.crypto.envelope import DataKey
from vault.crypto.fields import encrypt_text
from vault.crypto.index import (
    address_parts,
    blind_index_address,
    blind_index_bsn,
    blind_index_person,
    normalise_bsn,
    normalise_date,
    normalise_name,
)
from vault.crypto.keys import SecretKey, SubkeyPurpose
from vault.domain import AuditTag, CaseKind, Category, OrgType
from vault.errors import Conflict, Forbidden, InvalidInput, NotFound
from vault.models import Case, Consent, Grant, Organisation, ReporterIdentity, Subject
from vault.policy import Decision
from vault.runtime import Vault
from vault.services.documents import touch_case
from vault.services.gate import Admission, RuleRefused, gated_write

__all__ = [
    "CONSENT_WITHDRAWN",
    "ConsentScope",
    "PersonFields",
    "Relation",
    "ReporterFields",
    "add_subject",
    "check_sharing_consent",
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
    SHARE_WITH_PARTNER = "share_with_partner"  # D9: names the one recipient organisation it covers


CONSENT_WITHDRAWN = "consent-withdrawn"  # D9: the reason code of a grant revoked by a withdrawal


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


def _address_index(key: SecretKey, address: str | None) -> str | None:
    """D21: blind index of the postcode + house number in a Dutch address (own-circle check)."""
    parts = address_parts(address) if address else None
    return blind_index_address(key, *parts) if parts else None


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
        address_index=_address_index(key, fields.address),
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
    vault: Vault,
    ctx: Context,
    case_id: str,
    *,
    scope: ConsentScope,
    given_by: Relation,
    recipient_org_id: str | None = None,
) -> str:
    """Record a consent given in a conversation: who recorded it (the actor), when, and its scope.

    D9: a ``share_with_partner`` consent names the one organisation it allows sharing with (a person
    consents to sharing with someone in particular); a ``register_personal_data`` consent names none.
    The audit entry (the gate's) names the consent id; scope, giver and recipient are in the row."""
    scope = ConsentScope(scope)
    if (scope is ConsentScope.SHARE_WITH_PARTNER) != (recipient_org_id is not None):
        raise InvalidInput("a consent to share names its recipient organisation; no other consent does")
    consent_id = str(uuid.uuid4())

    def write(session: Session, admission: Admission) -> str:
        case = _case(session, case_id)
        if recipient_org_id is not None:
            org = session.get(Organisation, recipient_org_id)
            if org is None or org.org_type == OrgType.VEILIG_THUIS:
                raise NotFound("no such recipient organisation")
        consent = Consent(
            id=consent_id,
            case_id=case_id,
            scope=str(scope),
            given_by=str(given_by),
            recorded_at=ctx.now(),
            recorded_by=ctx.actor_id or "unknown",
            recipient_org_id=recipient_org_id,
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
    """A consent can be withdrawn; data registered under it stays (deletion is a separate request, D12).

    D9: every disclosure (grant) resting on it is revoked in the same transaction, each with its own
    ``disclosure:grant:revoked`` entry (grant id, reason code ``consent-withdrawn``; no personal data)."""

    def write(session: Session, admission: Admission) -> None:
        consent = session.get(Consent, consent_id)
        if consent is None or consent.case_id != case_id:
            raise NotFound("no such consent")
        if consent.withdrawn_at is not None:
            raise Conflict("this consent was already withdrawn")
        consent.withdrawn_at = ctx.now()
        _revoke_grants_resting_on(session, ctx, consent)
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


def _revoke_grants_resting_on(session: Session, ctx: Context, consent: Consent) -> None:
    grants = session.scalars(
        select(Grant)
        .where(Grant.consent_id == consent.id, Grant.revoked_at.is_(None))
        .order_by(Grant.created_at, Grant.id)
    ).all()
    for grant in grants:
        grant.revoked_at = ctx.now()
        record(
            session,
            ctx,
            AuditTag.DISCLOSURE_GRANT_REVOKED,
            case_id=grant.case_id,
            object_type="grant",
            object_id=grant.id,
            rule="d9-consent-withdrawn",
            details={"org_id": grant.org_id, "consent_id": consent.id, "reason": CONSENT_WITHDRAWN},
        )
    session.flush()


def check_sharing_consent(session: Session, *, case_id: str, consent_id: str, org_id: str) -> Decision:
    """D9: does the recorded consent ``consent_id`` of this case allow sharing with ``org_id`` now?

    It must be a consent of this case, of scope ``share_with_partner``, naming that organisation, and
    not withdrawn. Fails closed; the rule names which condition failed."""
    consent = session.get(Consent, consent_id)
    if consent is None or consent.case_id != case_id:
        return Decision(
            False, "d9-consent-not-recorded", "the consent reference names no consent of this case"
        )
    if consent.scope != ConsentScope.SHARE_WITH_PARTNER or consent.recipient_org_id != org_id:
        return Decision(False, "d9-consent-scope", "the recorded consent does not cover this recipient")
    if consent.withdrawn_at is not None:
        return Decision(False, "d9-consent-withdrawn", "the recorded consent was withdrawn")
    return Decision(True, "d9-basis:consent", "a recorded consent covers sharing with this recipient")


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
