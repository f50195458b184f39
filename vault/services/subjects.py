"""Subjects (betrokkenen) and the reporter's identity (D8); consents live in ``vault.services.consents``
and the value types in ``vault.services.person_fields`` (both re-exported here).

Personal fields are sealed under the case DEK with associated data (table, column, row id); each
subject also gets keyed blind indexes (D19) so the person lookup never decrypts a dossier. Reading
these fields happens only through the gate (`vault.services.case_view`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from vault.context import Context
from vault.crypto.envelope import DataKey
from vault.crypto.fields import encrypt_text
from vault.crypto.index import address_parts, blind_index_address, blind_index_bsn, blind_index_person
from vault.crypto.keys import SecretKey, SubkeyPurpose
from vault.domain import AuditTag, CaseKind, Category
from vault.errors import Conflict, Forbidden, InvalidInput, NotFound, StepUpRequired
from vault.models import Case, Consent, ReporterIdentity, Subject
from vault.runtime import Vault
from vault.services.calendar import local_date
from vault.services.consents import (
    check_sharing_consent,
    lapse_child_consents,
    live_consent,
    record_consent,
    withdraw_consent,
)
from vault.services.documents import touch_case
from vault.services.gate import Admission, RuleRefused, gated_write
from vault.services.person_fields import (
    CONSENT_GIVERS,
    CONSENT_WITHDRAWN,
    HELP_SEEKER_CONSENT,
    MAX_FIELD,
    ConsentScope,
    PersonFields,
    Relation,
    ReporterFields,
    clean_field,
)

__all__ = [
    "CONSENT_GIVERS",
    "CONSENT_WITHDRAWN",
    "HELP_SEEKER_CONSENT",
    "REPORTER_ORGANISATION_LIMIT",
    "SUBJECT_TWICE",
    "ConsentRequired",
    "ConsentScope",
    "PersonFields",
    "Relation",
    "ReporterFields",
    "add_subject",
    "check_sharing_consent",
    "correct_subject",
    "live_consent",
    "record_consent",
    "record_reporter_consent",
    "release_professional_reporter",
    "seal_reporter_identity",
    "seal_subject",
    "seal_subjects",
    "withdraw_consent",
]

_MAX_REASON = 1000


def _seal(dek: DataKey, table: str, column: str, row_id: str, value: str | None) -> bytes | None:
    return (
        None if value is None else encrypt_text(dek, table=table, column=column, row_id=row_id, value=value)
    )


def _address_index(key: SecretKey, address: str | None) -> str | None:
    """D21: blind index of the postcode + house number in a Dutch address (own-circle check)."""
    parts = address_parts(address) if address else None
    return blind_index_address(key, *parts) if parts else None


def _put_fields(subject: Subject, vault: Vault, dek: DataKey, fields: PersonFields) -> None:
    """Seal every field of a (checked) person into ``subject`` and set its blind indexes (D18, D19);
    a field left empty clears its ciphertext and its index."""
    key = vault.keys.subkey(SubkeyPurpose.BLIND_INDEX)
    subject.bsn_index = blind_index_bsn(key, fields.bsn) if fields.bsn else None
    subject.person_index = (
        blind_index_person(key, fields.name, fields.date_of_birth)
        if fields.name and fields.date_of_birth
        else None
    )
    subject.address_index = _address_index(key, fields.address)
    dob = fields.date_of_birth.isoformat() if fields.date_of_birth else None
    subject.name_enc = _seal(dek, "subjects", "name", subject.id, fields.name)
    subject.bsn_enc = _seal(dek, "subjects", "bsn", subject.id, fields.bsn)
    subject.date_of_birth_enc = _seal(dek, "subjects", "date_of_birth", subject.id, dob)
    subject.address_enc = _seal(dek, "subjects", "address", subject.id, fields.address)


SUBJECT_TWICE = "subject-already-on-case"  # the rule that refuses the same person twice on one case


def _refuse_twice(session: Session, vault: Vault, case_id: str, fields: PersonFields, but: str) -> None:
    """The same person (BSN, or name + date of birth, by their blind indexes) is on a case once: a
    double submit or a resent form would add them again (review session 18); two different BSNs are
    two people, even with the same name and date of birth. ``but``: the subject
    being corrected. Refused with the rule ``SUBJECT_TWICE`` (409, audited: ids only)."""
    key = vault.keys.subkey(SubkeyPurpose.BLIND_INDEX)
    same = []
    bsn_index = blind_index_bsn(key, fields.bsn) if fields.bsn else None
    if bsn_index is not None:
        same.append(Subject.bsn_index == bsn_index)
    if fields.name and fields.date_of_birth:
        by_name = Subject.person_index == blind_index_person(key, fields.name, fields.date_of_birth)
        # Two different BSNs are two people, whatever their names and birth dates (review session 18).
        same.append(by_name if bsn_index is None else and_(by_name, Subject.bsn_index.is_(None)))
    if not same:
        return
    found = session.scalar(
        select(Subject.id).where(Subject.case_id == case_id, Subject.id != but, or_(*same)).limit(1)
    )
    if found is not None:
        raise RuleRefused(Conflict("this person is already a subject of the case"), SUBJECT_TWICE)


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
    subject = Subject(
        id=subject_id or str(uuid.uuid4()),
        case_id=case_id,
        relation=str(relation),
        consent_id=consent_id,
        created_at=ctx.now(),
        created_by=ctx.actor_id,
    )
    _put_fields(subject, vault, dek, fields.checked())
    session.add(subject)
    session.flush()
    return subject


# The reporter's ``organisation`` column holds a professional's organisation *and* profession
# ("organisation (profession)", the public form) or a citizen's relation: room for two full fields.
REPORTER_ORGANISATION_LIMIT = 2 * MAX_FIELD + len(" ()")


def seal_reporter_identity(
    session: Session, ctx: Context, dek: DataKey, *, case_id: str, reporter: ReporterFields
) -> ReporterIdentity:
    """D8: the reporter's identity in its own table, every field sealed under the case DEK."""
    name = clean_field(reporter.name, "reporter name")
    if name is None:
        raise InvalidInput("a report needs the reporter's name")
    row = ReporterIdentity(
        case_id=case_id,
        professional=bool(reporter.professional),
        name_enc=encrypt_text(dek, table="reporter_identities", column="name", row_id=case_id, value=name),
        contact_enc=_seal(
            dek, "reporter_identities", "contact", case_id, clean_field(reporter.contact, "contact")
        ),
        organisation_enc=_seal(
            dek,
            "reporter_identities",
            "organisation",
            case_id,
            clean_field(reporter.organisation, "organisation", REPORTER_ORGANISATION_LIMIT),
        ),
        consent_to_disclose=False,
        created_at=ctx.now(),
        created_by=ctx.actor_id,
    )
    session.add(row)
    session.flush()
    return row


def _case(session: Session, case_id: str) -> Case:
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound("no such case")
    return case


class ConsentRequired(Forbidden):
    """D2: identifying fields on a help seeker's advice case need their recorded consent first."""

    code = "consent_required"


def _consent_for(
    session: Session, case: Case, fields: PersonFields, consent_id: str | None
) -> Consent | None:
    """The rules on who may be registered with which fields (D2, D3); the live consent they rest on."""
    kind = CaseKind(case.kind)
    if kind is CaseKind.ADVICE_PROFESSIONAL:
        raise RuleRefused(
            Forbidden("a professional's advice case holds its client only as a pseudonym (D3)"),
            "d3-pseudonym-only",
        )
    if kind is not CaseKind.ADVICE_HELP_SEEKER or not fields.identifying:
        return None
    scope = ConsentScope.REGISTER_PERSONAL_DATA
    consent = live_consent(session, case.id, scope, consent_id, own_only=True)
    if consent is None:
        # A consent recorded as given by someone else (before that was refused) does not count.
        by_other = live_consent(session, case.id, scope, consent_id) is not None
        raise RuleRefused(
            ConsentRequired(
                "identifying data on an advice case needs the help seeker's own recorded consent (D2)"
            ),
            HELP_SEEKER_CONSENT if by_other else "d2-consent-required",
        )
    return consent


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
    personal data, given by the help seeker themself. D3: a professional's advice case holds its
    client only as a pseudonym.
    """
    fields = fields.checked(local_date(ctx.now()))
    subject_id = str(uuid.uuid4())

    def write(session: Session, admission: Admission) -> str:
        assert admission.dek is not None
        case = _case(session, case_id)
        consent = _consent_for(session, case, fields, consent_id)
        _refuse_twice(session, vault, case_id, fields, subject_id)
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


def correct_subject(
    vault: Vault,
    ctx: Context,
    case_id: str,
    subject_id: str,
    *,
    relation: Relation,
    fields: PersonFields,
    consent_id: str | None = None,
) -> int:
    """Correct a subject: the fields given replace the recorded ones (WRITE on ``subjects``, gated).

    Every field is sealed again under the case key and the blind indexes follow (D18, D19), so the
    person lookup finds the corrected person and no longer the old one. The rules of adding hold (D2,
    D3). The audit entry (``dossier:subject:corrected``) names the subject id only. A consent to share
    that this child gave and the corrected facts no longer carry (age, relation) lapses with the
    disclosures resting on it (``consents.lapse_child_consents``, D9, D13). Returns how many lapsed.
    """
    fields = fields.checked(local_date(ctx.now()))

    def write(session: Session, admission: Admission) -> int:
        assert admission.dek is not None
        subject = session.get(Subject, subject_id)
        if subject is None or subject.case_id != case_id:
            raise NotFound("no such subject")
        case = _case(session, case_id)
        consent = _consent_for(session, case, fields, consent_id)
        _refuse_twice(session, vault, case_id, fields, subject_id)
        subject.relation = str(Relation(relation))
        if consent is not None:
            subject.consent_id = consent.id
        _put_fields(subject, vault, admission.dek, fields)
        lapsed = lapse_child_consents(session, ctx, admission, case, subject.id)
        touch_case(case, ctx)
        session.flush()
        return lapsed

    return gated_write(
        vault,
        ctx,
        case_id,
        category=Category.SUBJECTS,
        tag=AuditTag.DOSSIER_SUBJECT_CORRECTED,
        object_type="subject",
        object_id=subject_id,
        then=write,
    )


def _require_step_up(vault: Vault, ctx: Context, what: str) -> None:
    """D8: a decision about the reporter's identity needs a recent second-factor check (as sharing)."""
    if ctx.role != "operator" and not ctx.stepped_up_within(vault.settings.step_up_minutes):
        raise StepUpRequired(f"{what} needs a recent second-factor check")


def _reporter(session: Session, case_id: str) -> ReporterIdentity:
    row = session.get(ReporterIdentity, case_id)
    if row is None:
        raise NotFound("this case has no recorded reporter")
    return row


def record_reporter_consent(vault: Vault, ctx: Context, case_id: str) -> None:
    """D8: the reporter consented to the disclosure of their identity (their own word, recorded also
    while a report is taken by phone; the staff decision — a release — is what needs a step-up)."""

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
    _require_step_up(vault, ctx, "releasing the reporter's identity")
    text = clean_field(reason, "reason", _MAX_REASON)
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
