"""Inzage (D13): an export of one subject's data for that subject, with withholdings and reasons.

What the copy holds: the subject's own registered fields (decrypted through the gate under an EXPORT
decision for ``subjects``, which needs a stated purpose and a recent step-up); the case's kind and
dates; the list of documents (category, title, date); and the access report of D15 (who — user,
role, organisation — when, what, on which ground).

What it withholds, each with its reason: the reporter's identity (D8), every other person's data
(their privacy), medical documents (only through the confidential doctor), and the content of
documents, which may hold third parties' data and is handed over only after a staff member has
reviewed it (Wmo 2015 art. 5.3.2). The subject's own statements are listed like other documents.

Free text typed by staff can name people (D22): "Gesprek met buurvrouw <naam>" as a document title
would put the reporter or a neighbour into the subject's copy (D8, D13). So every free-text item —
today the document titles — enters the copy only when a staff member released it for the access
request the copy answers (``inzage_item_reviews``, decided in ``vault.services.inzage_review``); every other
item is listed as withheld with its reason (not reviewed, or withheld after review). A release holds
for the exact text reviewed: it is bound to the SHA-256 of the stored ciphertext. The case's journal
notes (``vault.services.journal``) are free text too (kind ``note``): a released note is in the copy with
its date; every other note is listed as withheld. The access report's
purpose column shows only the system's own purpose codes; anything else is withheld as free text.
The copy names to whom the case was disclosed (AVG art. 15(1)(c)): ``vault.services.inzage_recipients``.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vault import labels
from vault.context import Context
from vault.domain import Action, AuditTag, Category, reference_of
from vault.errors import InvalidInput, NotFound, StepUpRequired
from vault.models import AccessRequest, Case, Document, InzageItemReview, ReporterIdentity, Subject
from vault.runtime import Vault
from vault.services.access_overview import subject_report
from vault.services.gate import Admission, GateRequest, decrypt_case_field, pass_gate
from vault.services.inzage_recipients import Recipient, disclosed_to, recipient_rows
from vault.services.journal import NOTE_COLUMN, NOTE_TABLE, notes_of_case
from vault.services.lookup import ReidentificationReason

__all__ = [
    "NOT_REVIEWED",
    "WITHHELD_AFTER_REVIEW",
    "FreeTextKind",
    "InzageExport",
    "ReviewDecision",
    "Withholding",
    "WithholdingGround",
    "copy_documents",
    "effective_decision",
    "export_for_subject",
    "item_id",
    "parse_item",
    "render_inzage_pdf",
    "review_state",
    "stored_digest",
    "withheld_reason",
]

PURPOSE = "inzage (AVG art. 15, Wmo 2015 art. 5.3.2)"

NOT_REVIEWED = "vrije tekst, niet beoordeeld"
WITHHELD_AFTER_REVIEW = "vrije tekst, achtergehouden na beoordeling"
# The other reasons a copy names (D13), in the words of the person who receives it.
OTHER_PERSONS = "privacy van anderen (AVG art. 15 lid 4; Wmo 2015 art. 5.3.2 lid 1)"
REPORTER_PROTECTED = "de identiteit van de melder is beschermd (Uitvoeringsbesluit Wmo 2015 art. 4.1.8 lid 3)"
MEDICAL_VIA_DOCTOR = "medische gegevens: inzage via de vertrouwensarts"
NOTHING_SEEN = "daarbij is niets ingezien; een poging kan iemand noemen die geen medewerker is"
CONTENTS_AFTER_REVIEW = (
    "kan gegevens van anderen bevatten; een kopie volgt na beoordeling door een medewerker "
    "(Wmo 2015 art. 5.3.2 lid 1)"
)

# The access report's purpose column: the system's own codes only (never text a person typed).
_SYSTEM_PURPOSES = frozenset(
    {PURPOSE, "audit-review", "audit-export", "manage", "step_up"} | {str(r) for r in ReidentificationReason}
)


class FreeTextKind(StrEnum):
    """The kinds of free text an inzage copy can carry (D22)."""

    DOCUMENT_TITLE = "document_title"
    NOTE = "note"  # a journal note (aantekening), vault.services.journal


class ReviewDecision(StrEnum):
    RELEASED = "released"
    WITHHELD = "withheld"


class WithholdingGround(StrEnum):
    """D13: why a reviewer withheld a free-text item (none: the general reason)."""

    OTHER_PERSONS = "other_persons"
    REPORTER = "reporter"


def item_id(kind: FreeTextKind, ref: str) -> str:
    """The id a review names an item by: ``document_title:<document id>``."""
    return f"{kind}:{ref}"


def parse_item(item: str) -> tuple[FreeTextKind, str]:
    kind, _, ref = item.partition(":")
    try:
        parsed = FreeTextKind(kind)
    except ValueError:
        raise InvalidInput("unknown kind of free-text item") from None
    if not ref or len(ref) > 64:
        raise InvalidInput("a free-text item is named as kind:id")
    return parsed, ref


def stored_digest(value: bytes) -> str:
    """What a review is bound to: the stored ciphertext's SHA-256 (reveals nothing of the text)."""
    return hashlib.sha256(value).hexdigest()


def copy_documents(session: Session, case_id: str) -> tuple[list[Document], list[Document]]:
    """The documents an inzage copy lists, and the medical ones it withholds (the reporter's
    identity is withheld as a whole)."""
    listed: list[Document] = []
    medical: list[Document] = []
    for doc in session.scalars(
        select(Document).where(Document.case_id == case_id).order_by(Document.created_at, Document.id)
    ):
        if doc.category == Category.MEDICAL:
            medical.append(doc)
        elif doc.category != Category.REPORTER_IDENTITY:
            listed.append(doc)
    return listed, medical


def review_state(session: Session, access_request_id: str | None) -> dict[str, InzageItemReview]:
    """The reviews recorded for one access request, by item id."""
    if access_request_id is None:
        return {}
    rows = session.scalars(
        select(InzageItemReview).where(InzageItemReview.access_request_id == access_request_id)
    )
    return {item_id(FreeTextKind(r.item_kind), r.item_ref): r for r in rows}


def withheld_reason(review: InzageItemReview | None, decision: ReviewDecision | None) -> str:
    """The reason a copy gives for a free-text item it leaves out (D13: every withholding has one)."""
    if decision is not ReviewDecision.WITHHELD or review is None:
        return NOT_REVIEWED
    ground = {WithholdingGround.OTHER_PERSONS: OTHER_PERSONS, WithholdingGround.REPORTER: REPORTER_PROTECTED}
    given = ground.get(WithholdingGround(review.withheld_ground)) if review.withheld_ground else None
    return f"{WITHHELD_AFTER_REVIEW}: {given}" if given else WITHHELD_AFTER_REVIEW


def effective_decision(review: InzageItemReview | None, stored: bytes) -> ReviewDecision | None:
    """The decision that holds for the text stored now: none if never reviewed or changed since."""
    if review is None or review.reviewed_sha256 != stored_digest(stored):
        return None
    return ReviewDecision(review.decision)


@dataclass(frozen=True)
class Withholding:
    what: str
    reason: str
    item: str | None = None  # a free-text item's id (``kind:ref``), for a reviewer to find it


@dataclass(frozen=True)
class InzageExport:
    case_id: str
    subject_id: str
    generated_at: datetime
    case: dict[str, Any]
    subject: dict[str, Any] = field(repr=False)
    documents: list[dict[str, Any]] = field(repr=False)
    access_report: list[dict[str, Any]]
    withheld: list[Withholding]
    notes: list[dict[str, Any]] = field(default_factory=list, repr=False)  # released journal notes only
    recipients: list[Recipient] = field(default_factory=list)  # AVG art. 15(1)(c): the case's grants

    def as_dict(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "subject_id": self.subject_id,
            "generated_at": self.generated_at.isoformat(),
            "case": self.case,
            "subject": self.subject,
            "documents": self.documents,
            "access_report": self.access_report,
            "notes": self.notes,
            "recipients": [r.as_dict() for r in self.recipients],
            "withheld": [{"what": w.what, "reason": w.reason, "item": w.item} for w in self.withheld],
        }


def _field(admission: Admission, column: str, row_id: str, value: bytes | None) -> str | None:
    if value is None:
        return None
    return decrypt_case_field(admission, table="subjects", column=column, row_id=row_id, value=value)


def _title(
    admission: Admission, doc: Document, reviews: dict[str, InzageItemReview]
) -> tuple[str | None, Withholding | None]:
    """A document's title if released for this request, else the withholding that says why not."""
    if not doc.title_enc:
        return None, None
    item = item_id(FreeTextKind.DOCUMENT_TITLE, doc.id)
    review = reviews.get(item)
    decision = effective_decision(review, doc.title_enc)
    if decision is ReviewDecision.RELEASED:
        text = decrypt_case_field(
            admission, table="documents", column="title", row_id=doc.id, value=doc.title_enc
        )
        return text, None
    category = labels.label(labels.CATEGORIES, doc.category).lower()
    what = f"titel van het document van {labels.dutch_date(doc.created_at)} (categorie {category})"
    return None, Withholding(what, withheld_reason(review, decision), item)


def _notes(
    session: Session, admission: Admission, case_id: str, reviews: dict[str, InzageItemReview]
) -> tuple[list[dict[str, Any]], list[Withholding]]:
    """D22: the journal notes released for this request (text and date), and a withholding for each
    other note (never its text)."""
    released: list[dict[str, Any]] = []
    withheld: list[Withholding] = []
    for note in notes_of_case(session, case_id):
        item = item_id(FreeTextKind.NOTE, note.id)
        review = reviews.get(item)
        decision = effective_decision(review, note.text_enc)
        if decision is ReviewDecision.RELEASED:
            text = decrypt_case_field(
                admission, table=NOTE_TABLE, column=NOTE_COLUMN, row_id=note.id, value=note.text_enc
            )
            released.append({"note_id": note.id, "created_at": note.created_at.isoformat(), "text": text})
            continue
        what = f"aantekening van {labels.dutch_date(note.created_at)}"
        withheld.append(Withholding(what, withheld_reason(review, decision), item))
    return released, withheld


def _access_request(session: Session, request_id: str, case_id: str, subject_id: str) -> AccessRequest:
    row = session.get(AccessRequest, request_id)
    if row is None or row.case_id != case_id or row.subject_id != subject_id:
        raise NotFound("no such access request for this subject")
    return row


def export_for_subject(
    vault: Vault, ctx: Context, case_id: str, subject_id: str, *, access_request_id: str | None = None
) -> InzageExport:
    """Build the inzage copy for one subject; audited as an export of that subject's data.

    Free text enters the copy only as released by staff for ``access_request_id`` (the request this
    copy answers); without it, every free-text item is withheld as not reviewed.
    """
    if ctx.role != "operator" and not ctx.stepped_up_within(vault.settings.step_up_minutes):
        raise StepUpRequired("an inzage export needs a recent second-factor check")
    ctx = ctx.for_subject(subject_id)

    def build(session: Session, admission: Admission) -> InzageExport:
        case = session.get(Case, case_id)
        subject = session.get(Subject, subject_id)
        if case is None or subject is None or subject.case_id != case_id:
            raise NotFound("no such subject in this case")
        withheld: list[Withholding] = []
        others = session.scalars(
            select(Subject.id).where(Subject.case_id == case_id, Subject.id != subject_id)
        ).all()
        if others:
            withheld.append(
                Withholding(
                    f"gegevens van {labels.count_of(len(others), 'andere betrokkene', 'andere betrokkenen')}",
                    OTHER_PERSONS,
                )
            )
        reporter_documents = session.scalar(
            select(func.count())
            .select_from(Document)
            .where(Document.case_id == case_id, Document.category == Category.REPORTER_IDENTITY)
        )
        recipients, reporter_grants = disclosed_to(session, case_id, ctx.now())
        # D8: one withholding for the reporter, the same whether or not their identity went to a partner
        # (a count of such disclosures would tell the family that it did: consent, or a professional).
        if session.get(ReporterIdentity, case_id) is not None or reporter_documents or reporter_grants:
            withheld.append(Withholding("identiteit van de melder", REPORTER_PROTECTED))
        request = (
            _access_request(session, access_request_id, case_id, subject_id) if access_request_id else None
        )
        reviews = review_state(session, request.id if request else None)
        listed, medical = copy_documents(session, case_id)
        withheld.extend(
            Withholding(f"medisch document van {labels.dutch_date(doc.created_at)}", MEDICAL_VIA_DOCTOR)
            for doc in medical
        )
        documents: list[dict[str, Any]] = []
        for doc in listed:
            title, withholding = _title(admission, doc, reviews)
            if withholding is not None:
                withheld.append(withholding)
            documents.append(
                {
                    "document_id": doc.id,
                    "category": doc.category,
                    "title": title,
                    "title_withheld": withholding.reason if withholding else None,
                    "created_at": doc.created_at.isoformat(),
                }
            )
        if documents:
            withheld.append(Withholding("inhoud van de documenten", CONTENTS_AFTER_REVIEW))
        notes, notes_withheld = _notes(session, admission, case_id, reviews)
        withheld.extend(notes_withheld)
        report, left_out, free_purposes = _access_report(session, case_id, subject_id)
        lines = functools.partial(labels.count_of, singular="regel", plural="regels")
        if left_out["reporter"]:
            withheld.append(
                Withholding(
                    f"handelingen van de melder: {lines(left_out['reporter'])} van het toegangsoverzicht",
                    REPORTER_PROTECTED,
                )
            )
        if left_out["refused"]:
            withheld.append(
                Withholding(
                    f"geweigerde pogingen: {lines(left_out['refused'])} van het toegangsoverzicht",
                    NOTHING_SEEN,
                )
            )
        if left_out["other_subjects"]:
            withheld.append(
                Withholding(
                    f"verzoeken van andere betrokkenen: {lines(left_out['other_subjects'])} van het "
                    "toegangsoverzicht",
                    OTHER_PERSONS,
                )
            )
        if free_purposes:
            withheld.append(
                Withholding(f"doel bij {lines(free_purposes)} van het toegangsoverzicht", NOT_REVIEWED)
            )
        return InzageExport(
            case_id=case_id,
            subject_id=subject_id,
            generated_at=ctx.now(),
            case={
                "kind": case.kind,
                "created_at": case.created_at.isoformat(),
                "legal_basis": case.legal_basis,
                # D13: who asked (a child under 12 through a legal representative); None without a request
                "requested_by": request.requested_by if request else None,
            },
            subject={
                "relation": subject.relation,
                "name": _field(admission, "name", subject.id, subject.name_enc),
                "bsn": _field(admission, "bsn", subject.id, subject.bsn_enc),
                "date_of_birth": _field(admission, "date_of_birth", subject.id, subject.date_of_birth_enc),
                "address": _field(admission, "address", subject.id, subject.address_enc),
            },
            documents=documents,
            access_report=report,
            withheld=withheld,
            notes=notes,
            recipients=recipients,
        )

    return pass_gate(
        vault,
        ctx,
        GateRequest(case_id, Action.EXPORT, category=Category.SUBJECTS, purpose=PURPOSE),
        tag=AuditTag.RIGHTS_INZAGE_EXPORTED,
        object_type="subject",
        object_id=subject_id,
        then=build,
        # D13: the copy made for a request is what answers it (``rights.complete_access_request``)
        details={"access_request_id": access_request_id} if access_request_id else None,
    )


def _access_report(
    session: Session, case_id: str, subject_id: str
) -> tuple[list[dict[str, Any]], dict[str, int], int]:
    """D15's report for the copy: every entry the data subject may see (the reporter's own entries
    and refused attempts are left out and counted, as in the privacy officer's overview); a purpose
    that is not one of the system's codes is left out (it could be text a person typed) and counted."""
    report: list[dict[str, Any]] = []
    free = 0
    seen = subject_report(session, case_id, subject_id=subject_id)
    for r in seen.rows:
        purpose = r["purpose"]
        if purpose is not None and purpose not in _SYSTEM_PURPOSES:
            purpose = None
            free += 1
        at = r["occurred_at"]
        report.append(
            {
                "at": at.isoformat() if isinstance(at, datetime) else str(at),
                "who": r["actor_username"],
                "role": r["actor_role"],
                "organisation": r["actor_org_name"],
                "action": r["tag"],
                "ground": r["legal_basis"],
                "purpose": purpose,
                "emergency": bool(r["break_glass"]),
            }
        )
    return report, seen.left_out, free


_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_SUBJECT_FIELDS = (("relation", "Relatie"), ("name", "Naam"), ("bsn", "BSN"))
_SUBJECT_FIELDS_AFTER = (("date_of_birth", "Geboortedatum"), ("address", "Adres"))


def render_inzage_pdf(export: InzageExport) -> bytes:
    """A readable PDF of the inzage copy: the same content as the JSON, every code in Dutch words,
    times in Dutch time, the case by its reference (no ids)."""
    from vault.services.pdf import render_pdf

    values = dict(export.subject, relation=labels.label(labels.RELATIONS, export.subject.get("relation")))
    born = values.get("date_of_birth")
    if isinstance(born, str) and _ISO_DAY.fullmatch(born):
        values["date_of_birth"] = labels.dutch_date(date.fromisoformat(born))
    subject = [(name, str(values.get(key) or "-")) for key, name in _SUBJECT_FIELDS + _SUBJECT_FIELDS_AFTER]
    docs = [
        (
            f"{labels.dutch_datetime(d['created_at'])} · {labels.label(labels.CATEGORIES, d['category'])}",
            d["title"] or f"[titel niet verstrekt: {d['title_withheld'] or 'geen titel'}]",
        )
        for d in export.documents
    ]
    report = [
        (
            f"{labels.dutch_datetime(a['at'])} · {a['who'] or '-'} "
            f"({labels.label(labels.ROLES, a['role']) if a['role'] else '-'}, {a['organisation'] or '-'})",
            labels.label(labels.AUDIT_TAGS, a["action"])
            + (f" — grond: {labels.label(labels.LEGAL_BASES, a['ground'])}" if a["ground"] else "")
            + (" — NOODTOEGANG" if a["emergency"] else ""),
        )
        for a in export.access_report
    ]
    notes = [(labels.dutch_datetime(n["created_at"]), n["text"]) for n in export.notes]
    withheld = [(w.what, w.reason) for w in export.withheld]
    requester = export.case.get("requested_by")
    request = [("Gevraagd door", labels.label(labels.REQUESTERS, requester))] if requester else []
    return render_pdf(
        "Inzage in uw gegevens — Veilig Thuis",
        [
            ("Uw gegevens", request + subject),
            ("Documenten in het dossier", docs or [("", "geen")]),
            ("Aantekeningen (na beoordeling verstrekt)", notes or [("", "geen")]),
            ("Wie heeft het dossier ingezien (NEN 7513)", report or [("", "geen")]),
            ("Verstrekt aan", recipient_rows(export.recipients) or [("", "niemand")]),
            ("Niet verstrekt, met reden", withheld or [("", "niets")]),
        ],
        footer=(
            f"Zaak {reference_of(export.case_id)} · gemaakt {labels.dutch_datetime(export.generated_at)} "
            "(Nederlandse tijd)"
        ),
    )
