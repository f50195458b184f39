"""The case view: the case record, its people and its documents — every part through the gate.

- the case record (kind, dates, deadlines, outcome, consents, document list, timeline of audit tags
  and times) — READ on the case; the timeline leaves out oversight (``audit:…`` tags: the privacy
  officer's access reports, break-glass reviews …) for everyone but a privacy officer;
- subjects, decrypted only under a decision for ``Category.SUBJECTS``;
- document titles per category, only for categories the actor may read (no medical titles for a
  medewerker);
- the reporter's identity only when asked for *and* allowed under ``Category.REPORTER_IDENTITY`` (D8).
Each part is its own gate decision and audit entry; parts the policy would refuse are left out
(previewed with ``would_allow``) instead of logging denials nobody asked for.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Final

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from vault.context import Context
from vault.domain import STAFF_ROLES, Action, AuditTag, Category, Role
from vault.errors import NotFound
from vault.models import (
    AuditEntry,
    Case,
    CaseWorkflow,
    Consent,
    Document,
    MonitoringCheck,
    MonitoringPostponement,
    ReporterIdentity,
    Subject,
)
from vault.runtime import Vault
from vault.services.copy_kind import LATEST_COPY_KIND, REFUSE
from vault.services.gate import Admission, GateRequest, decrypt_case_field, pass_gate, would_allow
from vault.services.reporter_mask import reporter_masker

__all__ = [
    "OVERSIGHT_PREFIX",
    "STAFF_MATTERS",
    "CaseView",
    "ConsentEntry",
    "DocumentEntry",
    "MonitoringEntry",
    "ReporterView",
    "SubjectView",
    "TimelineEntry",
    "read_reporter_identity",
    "read_subjects",
    "sees_oversight",
    "view_case",
]

_TIMELINE_LIMIT = 500
# The privacy officer's oversight of the log: access reports, break-glass reviews, searches, proofs.
OVERSIGHT_PREFIX = "audit:"


@dataclass(frozen=True)
class SubjectView:
    subject_id: str
    relation: str
    name: str | None = field(repr=False)
    bsn: str | None = field(repr=False)
    date_of_birth: str | None = field(repr=False)
    address: str | None = field(repr=False)


@dataclass(frozen=True)
class ReporterView:
    professional: bool
    name: str = field(repr=False)
    contact: str | None = field(repr=False)
    organisation: str | None = field(repr=False)
    consent_to_disclose: bool
    released: bool


@dataclass(frozen=True)
class DocumentEntry:
    document_id: str
    category: str
    created_at: datetime
    title: str | None = field(repr=False)  # None: withheld for this actor
    refers_to_id: str | None = None  # D14: a statement names the document it answers
    not_for_partners: bool = False  # D22: its latest version is of a kind no partner's copy is made of


@dataclass(frozen=True)
class ConsentEntry:
    consent_id: str
    scope: str
    given_by: str
    recorded_at: datetime
    recorded_by: str
    withdrawn_at: datetime | None
    recipient_org_id: str | None = None  # D9: the one organisation a consent to share names
    subject_id: str | None = None  # D9, D13: the child a child's consent to share names


@dataclass(frozen=True)
class MonitoringEntry:
    monitoring_id: str
    months: int
    due_on: date
    done_at: datetime | None
    postponed_from: date | None = None  # D7: the first due date of a postponed moment
    postpone_reason: str | None = None  # a ``triage.PostponeReason`` code
    # D7: every postponement, oldest first: (due date before, due date after, reason code)
    postponements: tuple[tuple[date, date, str], ...] = ()


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    tag: str


@dataclass(frozen=True)
class CaseView:
    case_id: str
    kind: str
    team_id: str | None
    owner_id: str | None
    legal_basis: str
    created_at: datetime
    last_changed_at: datetime
    received_at: datetime | None
    client_pseudonym: str | None
    meldcode_step: int | None
    triage_due: date | None
    triage_outcome: str | None
    triage_decided_at: datetime | None
    partner_org_id: str | None
    investigation_start_due: date | None
    investigation_started_on: date | None
    judgement_due: date | None
    investigation_ended_on: date | None
    converted_from: str | None
    has_reporter: bool
    consents: list[ConsentEntry]
    monitoring: list[MonitoringEntry]
    documents: list[DocumentEntry]
    timeline: list[TimelineEntry]
    subjects: list[SubjectView] | None = None  # None: not shown to this actor
    reporter: ReporterView | None = None  # only when asked for and allowed (D8)
    # D20: the timeline holds the newest ``_TIMELINE_LIMIT`` entries; older ones were left out.
    timeline_truncated: bool = False


# Staff's own business, left out for anyone else who may read the case (the professional on their
# advice case): that an own-motion report is prepared (D4), the journal (staff only), what was shared
# and with whom (D3 register, D9), the reporter's identity (D8), consents, re-identifications and
# person lookups. Each is refused to them as a page; its line in a timeline would tell it anyway, and
# so would the consents of the case record (who gave which, to share with whom).
STAFF_MATTERS: Final = (
    "dossier:own-motion:",
    "dossier:note:",
    "dossier:notes:",
    "disclosure:",
    "dossier:reporter-identity:",
    "dossier:consent:",
    "dossier:client:",
    "dossier:person:",
)


def _record(
    session: Session,
    case_id: str,
    *,
    oversight: bool,
    staff: bool,
    readable: frozenset[str] | None = None,
) -> CaseView:
    """The case record. ``readable``: for a reader outside staff, the document categories they may
    read (``_readable_categories``); documents of other categories are not listed at all (D3, D10:
    that a medical document exists is itself health data). The timeline is the newest
    ``_TIMELINE_LIMIT`` entries (D20), ``timeline_truncated`` when older ones were left out."""
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound("no such case")
    wf = session.get(CaseWorkflow, case_id)
    consents = (
        []
        if not staff
        else [
            ConsentEntry(
                c.id,
                c.scope,
                c.given_by,
                c.recorded_at,
                c.recorded_by,
                c.withdrawn_at,
                c.recipient_org_id,
                c.subject_id,
            )
            for c in session.scalars(
                select(Consent).where(Consent.case_id == case_id).order_by(Consent.recorded_at)
            )
        ]
    )
    moved: dict[str, list[tuple[date, date, str]]] = {}  # D7: each moment's postponements
    for p in session.scalars(
        select(MonitoringPostponement)
        .where(MonitoringPostponement.case_id == case_id)
        .order_by(MonitoringPostponement.postponed_at, MonitoringPostponement.due_after)
    ):
        moved.setdefault(p.check_id, []).append((p.due_before, p.due_after, p.reason))
    monitoring = [
        MonitoringEntry(
            m.id,
            m.months,
            m.due_on,
            m.done_at,
            m.postponed_from,
            m.postpone_reason,
            tuple(moved.get(m.id, [])),
        )
        for m in session.scalars(
            select(MonitoringCheck).where(MonitoringCheck.case_id == case_id).order_by(MonitoringCheck.due_on)
        )
    ]
    documents = [
        DocumentEntry(d.id, d.category, d.created_at, None, d.refers_to_id, kind == REFUSE)
        for d, kind in session.execute(
            select(Document, LATEST_COPY_KIND)
            .where(Document.case_id == case_id)
            .order_by(Document.created_at)
        )
    ]
    if not staff:
        documents = [d for d in documents if d.category in (readable or frozenset())]
    entries = select(AuditEntry.occurred_at, AuditEntry.tag).where(AuditEntry.case_id == case_id)
    if not oversight:
        # The privacy officer's oversight (access reports, break-glass reviews, proofs …) would tip
        # off a colleague under review: only privacy officers see it.
        entries = entries.where(~AuditEntry.tag.startswith(OVERSIGHT_PREFIX, autoescape=True))
    if not staff:
        entries = entries.where(*(~AuditEntry.tag.startswith(p, autoescape=True) for p in STAFF_MATTERS))
        # D3, D9: a partner's retrievals are staff matters too (as on the timeline).
        partner = str(Role.PARTNER)
        entries = entries.where(or_(AuditEntry.actor_role.is_(None), AuditEntry.actor_role != partner))
    newest = session.execute(entries.order_by(AuditEntry.seq.desc()).limit(_TIMELINE_LIMIT + 1)).all()
    timeline = [TimelineEntry(at, tag) for at, tag in reversed(newest[:_TIMELINE_LIMIT])]
    has_reporter = session.get(ReporterIdentity, case_id) is not None
    return CaseView(
        case_id=case.id,
        kind=case.kind,
        team_id=case.team_id,
        owner_id=case.owner_id,
        legal_basis=case.legal_basis,
        created_at=case.created_at,
        last_changed_at=case.last_changed_at,
        received_at=wf.received_at if wf else None,
        client_pseudonym=wf.client_pseudonym if wf else None,
        meldcode_step=wf.meldcode_step if wf else None,
        triage_due=wf.triage_due if wf else None,
        triage_outcome=wf.triage_outcome if wf else None,
        triage_decided_at=wf.triage_decided_at if wf else None,
        partner_org_id=wf.handover_org_id if wf else None,
        investigation_start_due=wf.investigation_start_due if wf else None,
        investigation_started_on=wf.investigation_started_on if wf else None,
        judgement_due=wf.judgement_due if wf else None,
        investigation_ended_on=wf.investigation_ended_on if wf else None,
        converted_from=wf.converted_from if wf else None,
        has_reporter=has_reporter,
        consents=consents,
        monitoring=monitoring,
        documents=documents,
        timeline=timeline,
        timeline_truncated=len(newest) > _TIMELINE_LIMIT,
    )


def sees_oversight(ctx: Context) -> bool:
    """Oversight events (tags ``audit:…``) are for privacy officers' eyes only."""
    return ctx.role == str(Role.PRIVACY_OFFICER)


def _open(admission: Admission, table: str, column: str, row_id: str, value: bytes | None) -> str | None:
    if value is None:
        return None
    return decrypt_case_field(admission, table=table, column=column, row_id=row_id, value=value)


def read_subjects(
    vault: Vault, ctx: Context, case_id: str, *, break_glass_justification: str | None = None
) -> list[SubjectView]:
    """The case's subjects, decrypted under a READ decision for ``Category.SUBJECTS``."""

    def decrypt(session: Session, admission: Admission) -> list[SubjectView]:
        rows = session.scalars(select(Subject).where(Subject.case_id == case_id).order_by(Subject.created_at))
        return [
            SubjectView(
                subject_id=s.id,
                relation=s.relation,
                name=_open(admission, "subjects", "name", s.id, s.name_enc),
                bsn=_open(admission, "subjects", "bsn", s.id, s.bsn_enc),
                date_of_birth=_open(admission, "subjects", "date_of_birth", s.id, s.date_of_birth_enc),
                address=_open(admission, "subjects", "address", s.id, s.address_enc),
            )
            for s in rows
        ]

    return pass_gate(
        vault,
        ctx,
        GateRequest(
            case_id,
            Action.READ,
            category=Category.SUBJECTS,
            break_glass_justification=break_glass_justification,
        ),
        tag=AuditTag.DOSSIER_SUBJECT_READ,
        object_type="subjects",
        object_id=case_id,
        then=decrypt,
    )


def read_reporter_identity(vault: Vault, ctx: Context, case_id: str) -> ReporterView | None:
    """D8: the reporter's identity, only under a READ decision for ``Category.REPORTER_IDENTITY``."""

    def decrypt(session: Session, admission: Admission) -> ReporterView | None:
        row = session.get(ReporterIdentity, case_id)
        if row is None:
            return None
        table = "reporter_identities"
        return ReporterView(
            professional=row.professional,
            name=_open(admission, table, "name", case_id, row.name_enc) or "",
            contact=_open(admission, table, "contact", case_id, row.contact_enc),
            organisation=_open(admission, table, "organisation", case_id, row.organisation_enc),
            consent_to_disclose=row.consent_to_disclose,
            released=row.released_at is not None,
        )

    return pass_gate(
        vault,
        ctx,
        GateRequest(case_id, Action.READ, category=Category.REPORTER_IDENTITY),
        tag=AuditTag.DOSSIER_REPORTER_IDENTITY_READ,
        object_type="reporter_identity",
        object_id=case_id,
        then=decrypt,
    )


def _titles(
    vault: Vault, ctx: Context, case_id: str, category: Category, break_glass_justification: str | None
) -> dict[str, str]:
    def decrypt(session: Session, admission: Admission) -> dict[str, str]:
        rows = session.scalars(
            select(Document).where(Document.case_id == case_id, Document.category == str(category))
        )
        titles = {
            d.id: decrypt_case_field(
                admission, table="documents", column="title", row_id=d.id, value=d.title_enc
            )
            for d in rows
        }
        # D8 under break-the-glass: the reporter's recorded details are masked as "[melder]".
        mask = reporter_masker(session, admission, case_id)
        return {k: mask(v) for k, v in titles.items()} if mask else titles

    return pass_gate(
        vault,
        ctx,
        GateRequest(
            case_id, Action.READ, category=category, break_glass_justification=break_glass_justification
        ),
        tag=AuditTag.DOSSIER_DOCUMENT_TITLES_READ,
        object_type="document_titles",
        object_id=str(category),
        then=decrypt,
    )


def _readable_categories(
    vault: Vault, ctx: Context, case_id: str, break_glass_justification: str | None
) -> frozenset[str] | None:
    """None for staff (every document is listed, titles per category); for anyone else the categories
    the policy lets them read (previewed, not audited), before the case record is read."""
    if ctx.role in STAFF_ROLES:
        return None
    return frozenset(
        str(c)
        for c in Category
        if would_allow(
            vault,
            ctx,
            GateRequest(
                case_id, Action.READ, category=c, break_glass_justification=break_glass_justification
            ),
        )
    )


def view_case(
    vault: Vault,
    ctx: Context,
    case_id: str,
    *,
    include_reporter_identity: bool = False,
    break_glass_justification: str | None = None,
) -> CaseView:
    """The case view for one actor (see the module docstring). Raises as the gate does.

    The reporter's identity, when asked for and not allowed, is refused (and that refusal audited)
    before any other part is read: a request that will be refused leaves no allowed read behind
    (D8, D20: never under break-the-glass)."""
    case_read = GateRequest(case_id, Action.READ, break_glass_justification=break_glass_justification)
    reporter: ReporterView | None = None
    reporter_decided = False
    if (
        include_reporter_identity
        and not would_allow(
            vault, ctx, GateRequest(case_id, Action.READ, category=Category.REPORTER_IDENTITY)
        )
        and would_allow(vault, ctx, case_read)
    ):
        reporter = read_reporter_identity(vault, ctx, case_id)  # the gate refuses, audits and raises
        reporter_decided = True
    readable = _readable_categories(vault, ctx, case_id, break_glass_justification)
    base = pass_gate(
        vault,
        ctx,
        case_read,
        tag=AuditTag.DOSSIER_CASE_READ,
        object_type="case",
        object_id=case_id,
        then=lambda session, _admission: _record(
            session,
            case_id,
            oversight=sees_oversight(ctx),
            staff=ctx.role in STAFF_ROLES,
            readable=readable,
        ),
    )
    subjects: list[SubjectView] | None = None
    if would_allow(
        vault,
        ctx,
        GateRequest(
            case_id,
            Action.READ,
            category=Category.SUBJECTS,
            break_glass_justification=break_glass_justification,
        ),
    ):
        subjects = read_subjects(vault, ctx, case_id, break_glass_justification=break_glass_justification)
    titles: dict[str, str] = {}
    for category in sorted({Category(d.category) for d in base.documents}):
        req = GateRequest(
            case_id, Action.READ, category=category, break_glass_justification=break_glass_justification
        )
        if would_allow(vault, ctx, req):
            titles.update(_titles(vault, ctx, case_id, category, break_glass_justification))
    documents = [replace(d, title=titles.get(d.document_id)) for d in base.documents]
    if include_reporter_identity and base.has_reporter and not reporter_decided:
        reporter = read_reporter_identity(vault, ctx, case_id)
    return replace(base, subjects=subjects, documents=documents, reporter=reporter)
