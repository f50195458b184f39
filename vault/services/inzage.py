"""Inzage (D13): an export of one subject's data for that subject, with withholdings and reasons.

What the copy holds: the subject's own registered fields (decrypted through the gate under an EXPORT
decision for ``subjects``, which needs a stated purpose and a recent step-up); the case's kind and
dates; the list of documents (category, title, date); and the access report of D15 (who — user,
role, organisation — when, what, on which ground).

What it withholds, each with its reason: the reporter's identity (D8), every other person's data
(their privacy), medical documents (only through the confidential doctor), and the content of
documents, which may hold third parties' data and is handed over only after a staff member has
reviewed it (Wmo 2015 art. 5.3.2). The subject's own statements are listed like other documents.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vault.context import Context
from vault.domain import Action, Category
from vault.errors import NotFound, StepUpRequired
from vault.models import Case, Document, ReporterIdentity, Subject
from vault.repositories import audit as audit_repo
from vault.runtime import Vault
from vault.services.gate import AccessRequest, Admission, decrypt_case_field, pass_gate

__all__ = ["InzageExport", "Withholding", "export_for_subject", "render_inzage_pdf"]

PURPOSE = "inzage (AVG art. 15, Wmo 2015 art. 5.3.2)"
_REPORT_LIMIT = 5000


@dataclass(frozen=True)
class Withholding:
    what: str
    reason: str


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

    def as_dict(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "subject_id": self.subject_id,
            "generated_at": self.generated_at.isoformat(),
            "case": self.case,
            "subject": self.subject,
            "documents": self.documents,
            "access_report": self.access_report,
            "withheld": [{"what": w.what, "reason": w.reason} for w in self.withheld],
        }


def _field(admission: Admission, column: str, row_id: str, value: bytes | None) -> str | None:
    if value is None:
        return None
    return decrypt_case_field(admission, table="subjects", column=column, row_id=row_id, value=value)


def export_for_subject(vault: Vault, ctx: Context, case_id: str, subject_id: str) -> InzageExport:
    """Build the inzage copy for one subject; audited as an export of that subject's data."""
    if ctx.role != "operator" and not ctx.stepped_up_within(vault.settings.step_up_minutes):
        raise StepUpRequired("an inzage export needs a recent second-factor check")

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
                    f"gegevens van {len(others)} andere betrokkene(n)",
                    "privacy of other persons (AVG art. 15(4); Wmo 2015 art. 5.3.2 lid 1)",
                )
            )
        if session.get(ReporterIdentity, case_id) is not None:
            withheld.append(
                Withholding(
                    "identiteit van de melder",
                    "the reporter's identity is protected (Uitvoeringsbesluit Wmo 2015 art. 4.1.8 lid 3; D8)",
                )
            )
        documents: list[dict[str, Any]] = []
        for doc in session.scalars(
            select(Document).where(Document.case_id == case_id).order_by(Document.created_at)
        ):
            if doc.category == Category.MEDICAL:
                withheld.append(
                    Withholding(
                        f"medisch document {doc.id}", "medical data: inzage through the confidential doctor"
                    )
                )
                continue
            if doc.category == Category.REPORTER_IDENTITY:
                continue  # covered by the reporter withholding above
            title = (
                decrypt_case_field(
                    admission, table="documents", column="title", row_id=doc.id, value=doc.title_enc
                )
                if doc.title_enc
                else None
            )
            documents.append(
                {
                    "document_id": doc.id,
                    "category": doc.category,
                    "title": title,
                    "created_at": doc.created_at.isoformat(),
                }
            )
        if documents:
            withheld.append(
                Withholding(
                    "inhoud van de documenten",
                    "may hold third parties' data; a copy follows after review by a staff member "
                    "(Wmo 2015 art. 5.3.2 lid 1)",
                )
            )
        report = [
            {
                "at": r["occurred_at"].isoformat()
                if isinstance(r["occurred_at"], datetime)
                else str(r["occurred_at"]),
                "who": r["actor_username"],
                "role": r["actor_role"],
                "organisation": r["actor_org_name"],
                "action": r["tag"],
                "ground": r["legal_basis"],
                "purpose": r["purpose"],
                "emergency": bool(r["break_glass"]),
            }
            for r in audit_repo.access_report_rows(session, case_id, after_seq=0, limit=_REPORT_LIMIT)
            if r["decision"] == "allow"
        ]
        return InzageExport(
            case_id=case_id,
            subject_id=subject_id,
            generated_at=ctx.now(),
            case={
                "kind": case.kind,
                "created_at": case.created_at.isoformat(),
                "legal_basis": case.legal_basis,
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
        )

    return pass_gate(
        vault,
        ctx,
        AccessRequest(case_id, Action.EXPORT, category=Category.SUBJECTS, purpose=PURPOSE),
        tag="rights:inzage:exported",
        object_type="subject",
        object_id=subject_id,
        then=build,
    )


def render_inzage_pdf(export: InzageExport) -> bytes:
    """A readable PDF of the inzage copy (Dutch headings, the same content as the JSON)."""
    from vault.services.pdf import render_pdf

    subject = [(k, str(v or "-")) for k, v in export.subject.items()]
    docs = [(f"{d['created_at'][:10]} · {d['category']}", d["title"] or "-") for d in export.documents]
    report = [
        (
            f"{a['at'][:16]} · {a['who'] or '-'} ({a['role'] or '-'}, {a['organisation'] or '-'})",
            f"{a['action']} — grond: {a['ground'] or '-'}" + (" — NOODTOEGANG" if a["emergency"] else ""),
        )
        for a in export.access_report
    ]
    withheld = [(w.what, w.reason) for w in export.withheld]
    return render_pdf(
        "Inzage in uw gegevens — Veilig Thuis",
        [
            ("Uw gegevens", subject),
            ("Documenten in het dossier", docs or [("", "geen")]),
            ("Wie heeft het dossier ingezien (NEN 7513)", report or [("", "geen")]),
            ("Niet verstrekt, met reden", withheld or [("", "niets")]),
        ],
        footer=(
            f"Zaak {export.case_id} · betrokkene {export.subject_id} · "
            f"gemaakt {export.generated_at:%d-%m-%Y %H:%M} UTC"
        ),
    )
