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

from sqlalchemy import select
from sqlalchemy.orm import Session

from vault import labels
from vault.context import Context
from vault.domain import Action, AuditTag, Category, reference_of
from vault.errors import InvalidInput, NotFound, StepUpRequired
from vault.models import AccessRequest, Case, Document, InzageItemReview, Subject
from vault.runtime import Vault
from vault.services.access_overview import subject_report
from vault.services.gate import Admission, GateRequest, decrypt_case_field, pass_gate
from vault.services.inzage_recipients import Recipient, disclosed_to, recipient_rows
from vault.services.journal import notes_of_case, open_note
from vault.services.lookup import ReidentificationReason
from vault.services.reporter_mentions import ReporterMentions, reporter_mentions

__all__ = [
    "NOT_REVIEWED",
    "REPORT_LEFT_OUT",
    "REPORT_LEFT_OUT_REASON",
    "RIGHTS_OF_OTHERS",
    "WITHHELD_AFTER_REVIEW",
    "WITHHELD_WITH_GROUND",
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
# D8, D13: the one ground a withheld free-text item is given, whatever the reviewer chose: a ground
# that named the reporter next to a dated note would tell the family on which day, and by whom,
# something about the reporter was written down.
RIGHTS_OF_OTHERS = (
    "ter bescherming van de rechten van anderen (AVG art. 15 lid 4 en art. 23; Wmo 2015 art. 5.3.2)"
)
WITHHELD_WITH_GROUND = f"{WITHHELD_AFTER_REVIEW}: {RIGHTS_OF_OTHERS}"
REPORTER_PROTECTED = "de identiteit van de melder is beschermd (Uitvoeringsbesluit Wmo 2015 art. 4.1.8 lid 3)"
MEDICAL_VIA_DOCTOR = "medische gegevens: inzage via de vertrouwensarts"
# D13: a representative's copy leaves out where the child lives: the parent with authority who asks
# can be the person the child (and the other parent) is protected from; the young person or the
# representative can ask a worker for it, who judges then.
ADDRESS_NOT_FOR_REPRESENTATIVE = (
    "niet in een kopie voor een wettelijk vertegenwoordiger, ter bescherming van de betrokkene "
    "(AVG art. 23 lid 1 onder i; Wmo 2015 art. 5.3.2)"
)
NOTHING_SEEN = "daarbij is niets ingezien; een poging kan iemand noemen die geen medewerker is"
# D8, D13: what the copy's access report leaves out, in one fixed sentence printed in every copy,
# never with a number: a count (or a line that appears) would tell the family that the reporter
# consented or was named to a partner, or that another person of the family asked inzage.
REPORT_LEFT_OUT = (
    "regels van het toegangsoverzicht over de melder, over verzoeken van andere betrokkenen en over "
    "geweigerde pogingen (als die er zijn; hun aantal wordt niet genoemd)"
)
REPORT_LEFT_OUT_REASON = f"{RIGHTS_OF_OTHERS}; bij een geweigerde poging is niets ingezien"
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
    """The reason a copy gives for a free-text item it leaves out (D13: every withholding has one).

    D8: one ground for every withheld item, whichever the reviewer chose (the ground stays in the
    staff-side review and the audit): "the reporter is protected" next to a dated note would point at
    the day something about the reporter was written down."""
    if decision is not ReviewDecision.WITHHELD or review is None:
        return NOT_REVIEWED
    return WITHHELD_WITH_GROUND


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
    admission: Admission, doc: Document, reviews: dict[str, InzageItemReview], mentions: ReporterMentions
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
        if not mentions.named_in(text):  # D8: fail closed on a release made before the check
            return text, None
    category = labels.label(labels.CATEGORIES, doc.category).lower()
    what = f"titel van het document van {labels.dutch_date(doc.created_at)} (categorie {category})"
    reason = (
        WITHHELD_WITH_GROUND if decision is ReviewDecision.RELEASED else withheld_reason(review, decision)
    )
    return None, Withholding(what, reason, item)


def _notes(
    session: Session,
    admission: Admission,
    case_id: str,
    reviews: dict[str, InzageItemReview],
    mentions: ReporterMentions,
) -> tuple[list[dict[str, Any]], list[Withholding]]:
    """D22: the journal notes released for this request (text and date), and a withholding for each
    other note (never its text)."""
    released: list[dict[str, Any]] = []
    withheld: list[Withholding] = []
    for note in notes_of_case(session, case_id):
        item = item_id(FreeTextKind.NOTE, note.id)
        review = reviews.get(item)
        decision = effective_decision(review, note.text_enc)
        reason = withheld_reason(review, decision)
        if decision is ReviewDecision.RELEASED:
            text = open_note(admission, note)
            if not mentions.named_in(text):
                released.append({"note_id": note.id, "created_at": note.created_at.isoformat(), "text": text})
                continue
            reason = WITHHELD_WITH_GROUND  # D8: names the reporter (a release made before the check)
        what = f"aantekening van {labels.dutch_date(note.created_at)}"
        withheld.append(Withholding(what, reason, item))
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
        # D8: one withholding for the reporter in every copy, the same whether or not a reporter is
        # recorded, a reporter-identity document exists or their identity went to a partner (a line
        # that appears, or a count, would tell the family which).
        withheld.append(Withholding("identiteit van de melder", REPORTER_PROTECTED))
        recipients, _reporter_grants = disclosed_to(session, case_id, ctx.now())
        request = (
            _access_request(session, access_request_id, case_id, subject_id) if access_request_id else None
        )
        reviews = review_state(session, request.id if request else None)
        mentions = reporter_mentions(session, admission, case_id)
        listed, medical = copy_documents(session, case_id)
        withheld.extend(
            Withholding(f"medisch document van {labels.dutch_date(doc.created_at)}", MEDICAL_VIA_DOCTOR)
            for doc in medical
        )
        documents: list[dict[str, Any]] = []
        for doc in listed:
            title, withholding = _title(admission, doc, reviews, mentions)
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
        notes, notes_withheld = _notes(session, admission, case_id, reviews, mentions)
        withheld.extend(notes_withheld)
        address = _field(admission, "address", subject.id, subject.address_enc)
        by_representative = request is not None and request.requested_by == "representative"
        address_withheld = address is not None and by_representative
        if address_withheld:
            address = None
            withheld.append(Withholding("adres", ADDRESS_NOT_FOR_REPRESENTATIVE))
        report, free_purposes = _access_report(session, case_id, subject_id)
        lines = functools.partial(labels.count_of, singular="regel", plural="regels")
        withheld.append(Withholding(REPORT_LEFT_OUT, REPORT_LEFT_OUT_REASON))
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
                "address": address,
                "address_withheld": address_withheld,
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


def _access_report(session: Session, case_id: str, subject_id: str) -> tuple[list[dict[str, Any]], int]:
    """D15's report for the copy: every entry the data subject may see (``subject_report``: what it
    leaves out is named by the fixed ``REPORT_LEFT_OUT``, never counted); a purpose
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
    return report, free


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
    if values.get("address_withheld"):
        values["address"] = "niet in deze kopie (zie: niet verstrekt, met reden)"
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
