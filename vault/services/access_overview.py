"""D15 for the data subject: "wie heeft mijn dossier ingezien" — the per-dossier overview (NEN 7513 §9)
that the privacy officer hands to the person the dossier is about.

It is the access report of ``audit_reports.case_access_report`` with what the inzage copy also
withholds (``vault.services.inzage``) left out:

- the reporter (D8; Uitvoeringsbesluit Wmo 2015 art. 4.1.8 lid 3): every entry by an account that is
  not Veilig Thuis staff and recorded the reporter's identity of this case, and every entry by a
  professional account (a professional who reported or asked advice is the reporter of that case);
- purposes: the free text a person may have typed is never shown (only the legal ground);
- refused attempts: nothing was seen, and a refusal can name a person who is not staff.

Staff are named as in the access report: username (accounts have no display name), role,
organisation — resolved now; the log holds ids only. Audited as a view of the access report with
``format=subject-overview``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from vault.audit import queries as audit_repo
from vault.audit.log import record
from vault.context import Context
from vault.domain import AuditTag, Decision, Role
from vault.models import ReporterIdentity, User
from vault.runtime import Vault
from vault.services.audit_reports import authorise_audit

__all__ = ["SubjectReport", "subject_overview", "subject_report"]

_PAGE: Final = 2000
_STAFF: Final = frozenset(str(r) for r in Role if r.is_staff)


def _reporter_accounts(session: Session, case_id: str) -> set[str]:
    """Accounts that stand for the reporter of this case: who recorded the reporter's identity when
    that account is not staff (a professional or partner filing for themselves)."""
    rows = session.execute(
        select(ReporterIdentity.created_by, User.role)
        .outerjoin(User, User.id == ReporterIdentity.created_by)
        .where(ReporterIdentity.case_id == case_id)
    ).all()
    return {who for who, role in rows if who is not None and role not in _STAFF}


@dataclass(frozen=True)
class SubjectReport:
    """The entries of a case's access report that the person it is about may see, oldest first, all
    of them; and how many were left out, by reason ("reporter", "refused")."""

    rows: list[dict[str, Any]]
    left_out: dict[str, int]


def subject_report(session: Session, case_id: str) -> SubjectReport:
    """D8, D15: what the data subject's overview and the inzage copy show of the access report. Read
    page by page to the end: a busy case's newest entries are never cut off."""
    reporters = _reporter_accounts(session, case_id)
    shown: list[dict[str, Any]] = []
    left_out = {"reporter": 0, "refused": 0}
    after = 0
    while True:
        page = audit_repo.access_report_rows(session, case_id, after_seq=after, limit=_PAGE)
        for r in page:
            role = r["actor_role"] or r["actor_current_role"]
            if r["decision"] != Decision.ALLOW:
                left_out["refused"] += 1
            elif r["actor_id"] in reporters or Role.PROFESSIONAL in (role, r["actor_current_role"]):
                left_out["reporter"] += 1
            else:
                shown.append(r)
        if len(page) < _PAGE:
            return SubjectReport(shown, left_out)
        after = page[-1]["seq"]


def subject_overview(session: Session, vault: Vault, ctx: Context, case_id: str) -> dict[str, Any]:
    """The lines of the data subject's overview, oldest first, and how many were left out and why."""
    decision = authorise_audit(session, vault, ctx, AuditTag.AUDIT_ACCESS_REPORT_VIEWED)
    report = subject_report(session, case_id)
    left_out = report.left_out
    lines: list[dict[str, Any]] = []
    for r in report.rows:
        role = r["actor_role"] or r["actor_current_role"]
        lines.append(
            {
                "occurred_at": r["occurred_at"],
                "username": r["actor_username"],
                "role": role,
                "organisation": r["actor_org_name"],
                "action": r["tag"],
                "legal_basis": r["legal_basis"],
                "break_glass": bool(r["break_glass"]),
            }
        )
    record(
        session,
        ctx,
        AuditTag.AUDIT_ACCESS_REPORT_VIEWED,
        case_id=case_id,
        object_type="case",
        object_id=case_id,
        purpose="audit-review",
        rule=decision.rule,
        details={"format": "subject-overview", "lines": len(lines), **left_out},
    )
    return {"case_id": case_id, "lines": lines, "left_out": left_out}
