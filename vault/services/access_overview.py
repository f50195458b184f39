"""D15 for the data subject: "wie heeft mijn dossier ingezien" — the per-dossier overview (NEN 7513 §9)
that the privacy officer hands to the person the dossier is about.

It is the access report of ``audit_reports.case_access_report`` with what the inzage copy also
withholds (``vault.services.inzage``) left out:

- the reporter (D8; Uitvoeringsbesluit Wmo 2015 art. 4.1.8 lid 3): every entry by an account that is
  not Veilig Thuis staff and recorded the reporter's identity of this case, and every entry by a
  professional account (a professional who reported or asked advice is the reporter of that case);
  every entry about the reporter's identity (``dossier:reporter-identity:*``: a release exists only
  for a professional reporter and a consent says the reporter agreed to be named); every entry about
  a document of category ``reporter_identity`` (its upload, versions, reads: the document itself is
  left out of the copy without a trace, so its upload line would point at it); every entry that is
  contact with the reporter (``REPORTER_FACING_TAGS``: the terugkoppeling exists only for a reporter
  who left contact details); and every entry of a disclosure that carried nothing but the reporter's
  identity (``inzage_recipients`` does not list it either). A disclosure that carried the reporter's
  identity *and* other data is treated like every other grant: its creation, changes and the reads
  under it are shown, as tag, time, actor and ground only (never what it carried), and it is listed
  under "Verstrekt aan" without the reporter's identity — so no listed recipient lacks its lines;
- - other data subjects' requests (D13, privacy of others): an entry made on behalf of a subject
  (``on_behalf_of`` ``subject:<id>``) or a ``rights:*`` entry about a subject or one of their access
  requests, when that subject is not the one the copy is for; and every entry of a destruction request
  (``rights:destruction:*``, object ``destruction_request``) not made on the copy's subject's behalf:
  a request about the whole case names no subject and can come from anyone of the family. An overview
  that names no subject leaves every subject's requests out (fail closed): it is handed to one person
  of a case with several. The privacy officer's own access report (``case_access_report``) keeps all;
- purposes: the free text a person may have typed is never shown (only the legal ground);
- refused attempts: nothing was seen, and a refusal can name a person who is not staff.

Staff are named as in the access report: username (accounts have no display name), role,
organisation — resolved now; the log holds ids only. Audited as a view of the access report with
``format=subject-overview``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from vault.audit import queries as audit_repo
from vault.audit.log import record
from vault.context import Context
from vault.domain import STAFF_ROLES, AuditTag, Category, Decision, Role
from vault.models import AccessRequest, Document, ReporterIdentity, User
from vault.runtime import Vault
from vault.services.audit_reports import authorise_audit, require_known_case
from vault.services.inzage_recipients import case_grants, unlisted_grants

__all__ = [
    "LEFT_OUT_REASONS",
    "REPORTER_FACING_TAGS",
    "SubjectReport",
    "row_details",
    "subject_overview",
    "subject_report",
]

_PAGE: Final = 2000
_REPORTER_FACTS: Final = "dossier:reporter-identity:"  # recorded, read, consent, released
_RIGHTS: Final = "rights:"
_DESTRUCTION: Final = "rights:destruction:"  # requested, refused, granted: a request about the whole case
_ON_BEHALF_OF_SUBJECT: Final = "subject:"
# D8: entries that are contact with the reporter (only a reporter who left contact details gets it)
REPORTER_FACING_TAGS: Final = frozenset({AuditTag.DISCLOSURE_FEEDBACK_PREPARED.value})
# left_out keys, in the order the reasons are listed
LEFT_OUT_REASONS: Final = ("reporter", "refused", "other_subjects")


def _reporter_accounts(session: Session, case_id: str) -> set[str]:
    """Accounts that stand for the reporter of this case: who recorded the reporter's identity when
    that account is not staff (a professional or partner filing for themselves)."""
    rows = session.execute(
        select(ReporterIdentity.created_by, User.role)
        .outerjoin(User, User.id == ReporterIdentity.created_by)
        .where(ReporterIdentity.case_id == case_id)
    ).all()
    return {who for who, role in rows if who is not None and role not in STAFF_ROLES}


def _reporter_documents(session: Session, case_id: str) -> set[str]:
    """The case's documents of category ``reporter_identity`` (left out of the copy as a whole)."""
    rows = session.scalars(
        select(Document.id).where(
            Document.case_id == case_id, Document.category == Category.REPORTER_IDENTITY
        )
    )
    return {str(document_id) for document_id in rows}


def _names_reporter(details: dict[str, Any]) -> bool:
    """Whether an entry's details say it covers the reporter's identity (a disclosure's creation);
    fail closed: any value but absent or false counts."""
    return details.get("reporter_identity") not in (None, False)


def _note_unlisted(row: dict[str, Any], details: dict[str, Any], hidden: set[str], known: set[str]) -> None:
    """A disclosure whose row is gone is not listed in the copy: when its creation said it covered
    the reporter's identity, leave out its entries too (fail closed; its categories are unknown)."""
    grant_id = str(row["object_id"] or "")
    if row["object_type"] == "grant" and grant_id and grant_id not in known and _names_reporter(details):
        hidden.add(grant_id)


def _about_reporter(
    row: dict[str, Any], details: dict[str, Any], hidden: set[str], documents: set[str]
) -> bool:
    """D8: whether an entry would tell the family that the reporter was named, who they are or that
    Veilig Thuis was in touch with them: a fact about the reporter's identity, contact with the
    reporter, an entry about a reporter-identity document, or an entry of a disclosure the copy does
    not list (it carried nothing but the reporter's identity)."""
    tag = str(row["tag"])
    document = details.get("document_id")
    return (
        tag.startswith(_REPORTER_FACTS)
        or tag in REPORTER_FACING_TAGS
        or (row["object_type"] == "document" and row["object_id"] in documents)
        or (isinstance(document, str) and document in documents)
        or (row["object_type"] == "grant" and row["object_id"] in hidden)
        or _grant_of(details) in hidden
    )


def _grant_of(details: dict[str, Any]) -> str | None:
    """The grant a partner's read was made under (the gate records its id), if any."""
    grant_id = details.get("grant_id")
    return grant_id if isinstance(grant_id, str) else None


def _request_subjects(session: Session, case_id: str) -> dict[str, str]:
    """The case's access requests: whose request each is (ids only)."""
    rows = session.execute(
        select(AccessRequest.id, AccessRequest.subject_id).where(AccessRequest.case_id == case_id)
    )
    return {str(request_id): str(subject_id) for request_id, subject_id in rows}


_UNKNOWN_SUBJECT: Final = ""  # a request of a subject, but its row is gone: not the copy's subject


def _concerned_subject(row: dict[str, Any], requests: dict[str, str]) -> str | None:
    """The data subject an entry is about as a subject's request (D13), or None when it is not.

    An entry made on a subject's behalf names them (``subject:<id>``, D16); a ``rights:*`` entry names
    the subject (object ``subject``) or one of their access requests (object ``access_request``, or
    ``access_request_id`` in its details, as the review of an inzage copy records it). A destruction
    request's entries name no subject (the request is about the whole case): they count as another
    subject's unless made on the copy's subject's behalf."""
    behalf = row["on_behalf_of"] or ""
    if behalf.startswith(_ON_BEHALF_OF_SUBJECT):
        return behalf.removeprefix(_ON_BEHALF_OF_SUBJECT)
    if str(row["tag"]).startswith(_DESTRUCTION) or row["object_type"] == "destruction_request":
        return _UNKNOWN_SUBJECT  # names no subject: anyone's but the copy's (fail closed, D13)
    if not str(row["tag"]).startswith(_RIGHTS):
        return None
    if row["object_type"] == "subject" and row["object_id"]:
        return str(row["object_id"])
    request_id = row["object_id"] if row["object_type"] == "access_request" else None
    if request_id is None:
        request_id = row_details(row).get("access_request_id")
    if not isinstance(request_id, str):
        return None
    return requests.get(request_id, _UNKNOWN_SUBJECT)


def row_details(row: dict[str, Any]) -> dict[str, Any]:
    """An overview row's details as a mapping (empty when they do not parse)."""
    raw = row["details"]
    if isinstance(raw, dict):
        return raw
    try:
        loaded = json.loads(raw or "{}")
    except ValueError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


@dataclass(frozen=True)
class SubjectReport:
    """The entries of a case's access report that the person it is about may see, oldest first, all
    of them; and how many were left out, by reason ("reporter", "refused", "other_subjects")."""

    rows: list[dict[str, Any]]
    left_out: dict[str, int]


def subject_report(session: Session, case_id: str, *, subject_id: str | None = None) -> SubjectReport:
    """D8, D13, D15: what the data subject's overview and the inzage copy of ``subject_id`` show of the
    access report (``subject_id`` None: a copy for no one in particular, every subject's requests left
    out). Read page by page to the end: a busy case's newest entries are never cut off."""
    reporters = _reporter_accounts(session, case_id)
    requests = _request_subjects(session, case_id)
    hidden = unlisted_grants(session, case_id)
    known = case_grants(session, case_id)
    documents = _reporter_documents(session, case_id)
    own = subject_id[:56] if subject_id is not None else None  # as ``Context.for_subject`` cuts it
    shown: list[dict[str, Any]] = []
    left_out = dict.fromkeys(LEFT_OUT_REASONS, 0)
    after = 0
    while True:
        page = audit_repo.access_report_rows(session, case_id, after_seq=after, limit=_PAGE)
        for r in page:
            role = r["actor_role"] or r["actor_current_role"]
            details = row_details(r)
            _note_unlisted(r, details, hidden, known)
            concerned = _concerned_subject(r, requests)
            if r["decision"] != Decision.ALLOW:
                left_out["refused"] += 1
            elif (
                r["actor_id"] in reporters
                or Role.PROFESSIONAL in (role, r["actor_current_role"])
                or _about_reporter(r, details, hidden, documents)
            ):
                left_out["reporter"] += 1
            elif concerned is not None and (own is None or concerned[:56] != own):
                left_out["other_subjects"] += 1
            else:
                shown.append(r)
        if len(page) < _PAGE:
            return SubjectReport(shown, left_out)
        after = page[-1]["seq"]


def subject_overview(
    session: Session, vault: Vault, ctx: Context, case_id: str, *, subject_id: str | None = None
) -> dict[str, Any]:
    """The lines of the overview for ``subject_id`` (None: for no one in particular), oldest first, and
    how many were left out and why."""
    decision = authorise_audit(session, vault, ctx, AuditTag.AUDIT_ACCESS_REPORT_VIEWED)
    require_known_case(session, case_id)
    report = subject_report(session, case_id, subject_id=subject_id)
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
