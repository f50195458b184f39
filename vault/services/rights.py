"""Data subjects' rights (D13, D14): statements beside the original, access-request deadlines,
and the register of processing activities (AVG art. 30)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vault import __version__
from vault.audit import record
from vault.context import Context
from vault.domain import Action, AuditTag, Category, Role
from vault.errors import Conflict, Forbidden, InvalidInput, NotFound
from vault.models import AccessRequest as AccessRequestRow
from vault.models import Case, Subject
from vault.policy import default_legal_bases
from vault.repositories import access as access_repo
from vault.repositories import cases as cases_repo
from vault.runtime import Vault
from vault.services import inzage_review
from vault.services.calendar import local_date
from vault.services.documents import StoredVersion, upload_document
from vault.services.gate import (
    Admission,
    GateRequest,
    RuleRefused,
    decrypt_case_field,
    pass_gate,
)
from vault.services.retention import RETENTION_YEARS
from vault.services.subjects import Relation
from vault.services.worklists import refuse_listing
from vault.transaction import transaction

__all__ = [
    "AccessClosing",
    "AccessRequestView",
    "ExtensionReason",
    "RequestedBy",
    "access_request_view",
    "add_statement",
    "complete_access_request",
    "due_access_requests",
    "extend_access_request",
    "list_scope",
    "processing_register",
    "record_access_request",
    "request_scope",
]

ANSWER_WITHIN = timedelta(weeks=4)
MAX_EXTENSION = timedelta(weeks=8)
REPRESENTED_BELOW_AGE = 12  # D13: a child under 12 exercises the right through a legal representative
UNDER_12_RULE = "d13-under-12-via-representative"
# D13: a child whose date of birth is not recorded may be under 12: their own request waits for it.
AGE_UNKNOWN_RULE = "d13-child-age-unknown"
ADULT_BELOW_AGE = 18  # D13: a legal representative (parent with authority, guardian) acts for a minor
REPRESENTATIVE_MINOR_ONLY_RULE = "d13-representative-minor-only"
OWN_RIGHTS_FROM_AGE = 16  # D13 (WGBO 7:465 lid 1, Jeugdwet 7.3): from 16 a representative needs their consent
REPRESENTATIVE_16_PLUS_RULE = "d13-representative-16-plus"
# D13: without a recorded date of birth nobody can tell a minor from an adult: no representative then.
REPRESENTATIVE_AGE_UNKNOWN_RULE = "d13-representative-age-unknown"
# D13: an access request is answered with a copy made for it, or closed with a reason from the list.
ANSWERED_WITHOUT_COPY_RULE = "d13-answered-without-copy"
ANSWERED_UNREVIEWED_RULE = "d13-answered-unreviewed"  # a free-text item of the copy was not reviewed
ALREADY_RECORDED_RULE = "d13-request-already-recorded"  # the same request is open already


class RequestedBy(StrEnum):
    """Who asked for inzage: the data subject, or their legal representative (parent with authority,
    guardian)."""

    SUBJECT = "subject"
    REPRESENTATIVE = "representative"


def add_statement(
    vault: Vault,
    ctx: Context,
    *,
    case_id: str,
    refers_to_document_id: str,
    title: str,
    filename: str,
    content_type: str,
    chunks: Iterable[bytes],
) -> StoredVersion:
    """D14: a subject's own view, appended as a statement document that names the original.

    The original document and its versions are never touched. The answered document is checked
    after the gate allowed the write (``documents._check_answered``): a refusal tells nothing about
    the case's documents and is audited.
    """
    return upload_document(
        vault,
        ctx,
        case_id=case_id,
        category=Category.STATEMENT,
        title=title,
        filename=filename,
        content_type=content_type,
        chunks=chunks,
        refers_to_id=refers_to_document_id,
    )


class ExtensionReason(StrEnum):
    COMPLEX_REQUEST = "complex_request"
    MANY_REQUESTS = "many_requests"
    THIRD_PARTY_CONSULTATION = "third_party_consultation"


@dataclass(frozen=True)
class AccessRequestView:
    id: str
    case_id: str
    subject_id: str
    received_on: date
    answer_by: date
    extension_code: str | None
    completed: bool
    overdue: bool
    requested_by: str = RequestedBy.SUBJECT
    completed_at: datetime | None = None  # when it was answered (with a copy) or closed
    closing_code: str | None = None  # D13: closed without a copy, why (``AccessClosing``); none: a copy


def _view(row: AccessRequestRow, today: date) -> AccessRequestView:
    return AccessRequestView(
        row.id,
        row.case_id,
        row.subject_id,
        row.received_on,
        row.answer_by,
        row.extension_code,
        row.completed_at is not None,
        row.completed_at is None and row.answer_by < today,
        row.requested_by,
        row.completed_at,
        row.closing_code,
    )


def _age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def _today(ctx: Context) -> date:
    """Today in the Netherlands: at 00:30 Dutch summer time the UTC date is still yesterday's."""
    return local_date(ctx.now())


def _recorded_age(admission: Admission, subject: Subject, received_on: date) -> int | None:
    """The subject's age on the day the request came in, by the recorded date of birth; None if none
    is recorded."""
    if subject.date_of_birth_enc is None:
        return None
    born = decrypt_case_field(
        admission,
        table="subjects",
        column="date_of_birth",
        row_id=subject.id,
        value=subject.date_of_birth_enc,
    )
    return _age_on(date.fromisoformat(born), received_on)


access_request_view = _view  # the view the case's request pages build (``vault.services.request_views``)


def _check_own_request(admission: Admission, subject: Subject, received_on: date) -> None:
    """D13: a child under 12 on the day the request came in asks through a legal representative; a
    child whose date of birth is not recorded may be under 12, so their own request waits for it."""
    age = _recorded_age(admission, subject, received_on)
    if age is None:
        if subject.relation == Relation.CHILD:
            raise RuleRefused(
                InvalidInput(
                    "the child's age is unknown: record the date of birth first, or record the "
                    "request as made by a legal representative"
                ),
                AGE_UNKNOWN_RULE,
            )
        return
    if age < REPRESENTED_BELOW_AGE:
        raise RuleRefused(
            InvalidInput("a child under 12 asks for inzage through a legal representative"),
            UNDER_12_RULE,
        )


def _check_representative(admission: Admission, subject: Subject, received_on: date, consent: bool) -> None:
    """D13: a legal representative (parent with authority, guardian) asks only for a minor. An adult
    is their own person: "a representative" asking for her copy (her address in it) can be the very
    person she fled. Without a recorded date of birth nobody can tell, so the request is refused until
    the date of birth is recorded (fail closed)."""
    age = _recorded_age(admission, subject, received_on)
    if age is None:
        raise RuleRefused(
            InvalidInput(
                "a legal representative asks only for a minor, and this subject's date of birth is not "
                "recorded: record it first"
            ),
            REPRESENTATIVE_AGE_UNKNOWN_RULE,
        )
    if age >= ADULT_BELOW_AGE:
        raise RuleRefused(
            InvalidInput("a legal representative asks for inzage only for a minor (under 18)"),
            REPRESENTATIVE_MINOR_ONLY_RULE,
        )
    if age >= OWN_RIGHTS_FROM_AGE and not consent:
        raise RuleRefused(
            InvalidInput("from 16 a young person asks alone, or consents to their representative's request"),
            REPRESENTATIVE_16_PLUS_RULE,
        )


def record_access_request(
    vault: Vault,
    ctx: Context,
    case_id: str,
    *,
    subject_id: str,
    received_on: date,
    requested_by: RequestedBy = RequestedBy.SUBJECT,
    minor_consent: bool = False,
) -> AccessRequestView:
    """D13: record an inzage request; the subject is informed within four weeks. A child under 12 (on
    the day the request came in, by the recorded date of birth) asks through a legal representative:
    a request in the child's own name is refused (rule ``d13-under-12-via-representative``, audited),
    and so is one of a child whose date of birth is not recorded (``d13-child-age-unknown``). A legal
    representative asks only for a minor (under 18 on that day): for an adult the request is refused
    (``d13-representative-minor-only``), and so it is while the date of birth is not recorded
    (``d13-representative-age-unknown``); for a young person of 16 or 17 only with their recorded
    consent (``minor_consent``, in the audit entry; else ``d13-representative-16-plus``). The same
    request again (subject, requester, day received) while it is open is refused (409, audited,
    ``d13-request-already-recorded``): a double submit. "Today" is the Dutch date."""
    if received_on > _today(ctx):
        raise InvalidInput("the date received cannot lie in the future")
    ctx = ctx.for_subject(subject_id)

    def add(session: Session, admission: Admission) -> AccessRequestView:
        subject = session.get(Subject, subject_id)
        if subject is None or subject.case_id != case_id:
            raise NotFound("no such subject in this case")
        if requested_by is RequestedBy.SUBJECT:
            _check_own_request(admission, subject, received_on)
        else:
            _check_representative(admission, subject, received_on, minor_consent)
        same = session.scalar(
            select(AccessRequestRow.id).where(
                AccessRequestRow.case_id == case_id,
                AccessRequestRow.subject_id == subject_id,
                AccessRequestRow.received_on == received_on,
                AccessRequestRow.requested_by == str(requested_by),
                AccessRequestRow.completed_at.is_(None),
            )
        )
        if same is not None:  # a double submit, or a retry after a lost answer
            raise RuleRefused(
                Conflict("this request is recorded already and still open"), ALREADY_RECORDED_RULE
            )
        row = AccessRequestRow(
            id=str(uuid.uuid4()),
            case_id=case_id,
            subject_id=subject_id,
            received_on=received_on,
            answer_by=received_on + ANSWER_WITHIN,
            recorded_by=ctx.actor_id,
            requested_by=str(requested_by),
        )
        session.add(row)
        session.flush()
        return _view(row, _today(ctx))

    return pass_gate(
        vault,
        ctx,
        GateRequest(case_id, Action.WRITE),
        tag=AuditTag.RIGHTS_ACCESS_REQUESTED,
        object_type="subject",
        object_id=subject_id,
        then=add,
        details={"minor_consent": True} if minor_consent else None,
    )


def _update(
    vault: Vault,
    ctx: Context,
    request_id: str,
    tag: AuditTag,
    change: Callable[[Session, AccessRequestRow], None],
    details: dict[str, int | str] | None = None,
) -> AccessRequestView:
    with vault.db.session() as session:
        row = session.get(AccessRequestRow, request_id)
        if row is None:
            raise NotFound("no such access request")
        case_id = row.case_id
        ctx = ctx.for_subject(row.subject_id)

    def apply(session: Session, _admission: object) -> AccessRequestView:
        current = session.get(AccessRequestRow, request_id)
        assert current is not None
        if current.completed_at is not None:
            raise Conflict("this access request was already answered")
        change(session, current)
        session.flush()
        return _view(current, _today(ctx))

    return pass_gate(
        vault,
        ctx,
        GateRequest(case_id, Action.WRITE),
        tag=tag,
        object_type="access_request",
        object_id=request_id,
        then=apply,
        details=details,
    )


EXTENSION_AFTER_TERM = "d13-extension-after-term"


def extend_access_request(
    vault: Vault, ctx: Context, request_id: str, *, reason: ExtensionReason, weeks: int
) -> AccessRequestView:
    """Extend the answer deadline once, by at most eight weeks, with a reason, while the first term
    runs: the person must be told of an extension within it (AVG art. 12(3)), so a request already
    overdue stays overdue (rule ``d13-extension-after-term``)."""
    if not 1 <= weeks <= MAX_EXTENSION.days // 7:
        raise InvalidInput("an extension is 1 to 8 weeks")

    def change(_session: Session, row: AccessRequestRow) -> None:
        if row.extension_code is not None:
            raise Conflict("the deadline was already extended once")
        if _today(ctx) > row.answer_by:
            raise Conflict(
                "the term to answer has passed: an extension is given within it", rule=EXTENSION_AFTER_TERM
            )
        row.extension_code = str(reason)
        row.answer_by = row.answer_by + timedelta(weeks=weeks)

    return _update(vault, ctx, request_id, AuditTag.RIGHTS_ACCESS_EXTENDED, change)


class AccessClosing(StrEnum):
    """D13: why an access request is closed without a copy made for it. The requester withdrew it, or
    it is refused on a ground of AVG art. 12. Other people's interests are no ground to send nothing:
    the copy withholds their data and names the reason (``vault.services.inzage``)."""

    WITHDRAWN = "withdrawn"  # withdrawn by the requester
    IDENTITY_NOT_ESTABLISHED = "identity_not_established"  # AVG art. 12 lid 2 and 6
    MANIFESTLY_UNFOUNDED = "manifestly_unfounded"  # AVG art. 12 lid 5: manifestly unfounded or excessive


def complete_access_request(
    vault: Vault, ctx: Context, request_id: str, *, closing: AccessClosing | None = None
) -> AccessRequestView:
    """D13: mark a request answered. Answering lifts the hold an open request puts on a destruction
    (``d13-access-request-open``), so it needs an inzage copy made for this request, or a closing
    reason from ``AccessClosing`` (recorded on the request, which its page and the API show, and in the
    audit entry); otherwise it is refused (rule ``d13-answered-without-copy``, audited)."""

    def change(session: Session, row: AccessRequestRow) -> None:
        copied, reviewed = inzage_review.last_copy_and_review(session, row) if closing is None else (0, None)
        if copied is None:
            raise RuleRefused(
                Conflict("no inzage copy was made for this request: make it, or give a closing reason"),
                ANSWERED_WITHOUT_COPY_RULE,
            )
        # D13, D22: every free-text item decided for its current text, and the copy made after the last
        # decision (a copy made before it withheld everything as "not reviewed").
        if closing is None and (
            (reviewed is not None and reviewed > copied)
            or inzage_review.unreviewed_items(session, row.case_id, row.id)
        ):
            raise RuleRefused(
                Conflict("review every free-text item of the copy, then make the copy again"),
                ANSWERED_UNREVIEWED_RULE,
            )
        row.completed_at = ctx.now()
        row.closing_code = str(closing) if closing else None

    details: dict[str, int | str] | None = {"closing": str(closing)} if closing else None
    return _update(vault, ctx, request_id, AuditTag.RIGHTS_ACCESS_COMPLETED, change, details)


def request_scope(
    session: Session, ctx: Context, *, privacy_officer: bool = False
) -> tuple[cases_repo.Scope | None, str]:
    """Whose case-bound requests the actor sees: the cases the actor may see, as the work lists do
    (their teams' cases and cases assigned to them); a CLI operator and (``privacy_officer``) the
    privacy officer, who answers subjects' requests, see them all. None for anyone else, with the rule
    that refuses them."""
    if ctx.role == "operator":
        return cases_repo.Scope(None, frozenset(), everything=True), ""
    actor = access_repo.actor_facts(session, ctx)
    if actor is None or not actor.second_factor_verified:
        return None, "d17-second-factor"
    if actor.role.is_staff:
        return cases_repo.Scope(actor.id, actor.team_ids), ""
    if privacy_officer and actor.role is Role.PRIVACY_OFFICER:
        return cases_repo.Scope(None, frozenset(), everything=True), ""
    return None, "list-staff-only"


def list_scope(
    session: Session, ctx: Context, attempted: AuditTag, *, privacy_officer: bool = False
) -> cases_repo.Scope:
    """``request_scope`` for a list; anyone who sees no requests is refused, the denial of ``attempted``
    recorded in the caller's ``transaction``, which commits it and raises."""
    scope, rule = request_scope(session, ctx, privacy_officer=privacy_officer)
    if scope is None:
        refuse_listing(session, ctx, attempted, Forbidden("only staff see these requests"), rule)
    return scope


def due_access_requests(vault: Vault, ctx: Context) -> list[AccessRequestView]:
    """Open requests of the cases the actor may see, earliest deadline first (ids and dates only);
    the listing is audited (``rights:access:listed``, with the count) in the same transaction."""
    today = _today(ctx)
    with transaction(vault.db) as session:
        scope = list_scope(session, ctx, AuditTag.RIGHTS_ACCESS_LISTED, privacy_officer=True)
        rows = session.scalars(
            select(AccessRequestRow)
            .join(Case, Case.id == AccessRequestRow.case_id)
            .where(AccessRequestRow.completed_at.is_(None), cases_repo.visible_cases(scope))
            .order_by(AccessRequestRow.answer_by, AccessRequestRow.id)
        ).all()
        record(
            session,
            ctx,
            AuditTag.RIGHTS_ACCESS_LISTED,
            object_type="list",
            object_id="access_requests",
            details={"count": len(rows)},
        )
        return [_view(r, today) for r in rows]


def processing_register() -> dict[str, Any]:
    """AVG art. 30: the register of processing activities of this vault, machine-readable."""
    bases = default_legal_bases()
    return {
        "register_version": 1,
        "system": {"name": "Veilig Thuis dossier vault", "version": __version__},
        "controller": "the Veilig Thuis organisation operating this vault (set per installation)",
        "activities": [
            {
                "name": "Advice, reports, triage, investigation and monitoring (dossier keeping)",
                "purposes": [
                    "advice to help seekers and professionals (Wmo 2015 art. 4.1.1 lid 2 sub a)",
                    "receiving and assessing reports of domestic violence and child abuse (sub b-c)",
                    "investigation, handover to and cooperation with partners (sub d-f)",
                ],
                "legal_basis": ["AVG art. 6(1)(e)", "AVG art. 9(2)(g)", "AVG art. 10", "Wmo 2015 art. 5.1.6"],
                "data_subjects": ["subjects (household members)", "reporters", "help seekers", "staff users"],
                "data_categories": [str(c) for c in Category],
                "special_categories": [
                    "health (category medical, confidential doctor only)",
                    "criminal data",
                ],
                "recipients": [
                    {
                        "code": b.code,
                        "organisation_types": sorted(str(t) for t in b.org_types),
                        "source": b.source,
                    }
                    for b in (bases.get(code) for code in sorted(bases.codes))
                    if b is not None
                ],
                "transfers_outside_eea": "none",
                "retention": f"{RETENTION_YEARS} years after the last change (Wmo 2015 art. 5.3.4 lid 2), "
                "then crypto-shredding; longer only with a recorded reason",
                "security_measures": [
                    "per-case AES-256-GCM data keys wrapped by a versioned key-encryption key (AVG art. 32)",
                    "segmented authenticated encryption of documents; encrypted personal fields",
                    "keyed blind index and pseudonyms for person lookup without decryption",
                    "two-factor authentication (TOTP) for staff and partners (NEN 7510)",
                    "policy decisions per access (Casbin), default deny",
                    "append-only audit log with hash chain, Merkle tree and signed checkpoints (NEN 7513)",
                ],
            }
        ],
    }
