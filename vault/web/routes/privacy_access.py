"""The privacy officer's per-case access report (D15): choosing the case, the report a page at a time,
the PDF "wie heeft uw dossier ingezien" for the data subject (D8, D13) and the proof bundles. Log data
only — the FG never opens case content (the gate refuses)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Final

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response

from vault.audit.bundle import dump_bundle
from vault.audit.search import MAX_MATCHES, TOO_MANY_CASES, every_case_for_reference
from vault.domain import AuditTag, reference_of
from vault.errors import Integrity, InvalidInput
from vault.http.deps import VaultDep
from vault.http.downloads import download_headers
from vault.http.params import CaseId
from vault.services import access_overview, audit_reports, proof_bundles
from vault.transaction import transaction
from vault.web.csrf import VerifiedForm
from vault.web.fg_reports import actor_label, subject_overview_pdf
from vault.web.render import page, see_other
from vault.web.session import OWN_PAGES_ONLY, WebActor, WebUser

router = APIRouter(prefix="/fg", include_in_schema=False)

# Accesses a page: the report asks one more, so the page knows for certain whether more follow.
_ACCESS_PAGE: Final = 100
_SEQ: Final = re.compile(r"[1-9][0-9]{0,17}")
_BAD_ACCESS_PAGE: Final = (
    "Deze pagina van het toegangsrapport bestaat niet (de link klopt niet); u ziet de eerste pagina."
)


def _officer_only(vault: VaultDep, actor: WebActor, attempted: AuditTag) -> None:
    """The role check, first: anyone else gets the same audited 403 page whatever they typed."""
    audit_reports.require_privacy_officer(vault, actor.ctx, attempted)


@router.get("/toegang")
def access_form(request: Request, vault: VaultDep, actor: WebUser) -> HTMLResponse:
    _officer_only(vault, actor, AuditTag.AUDIT_ACCESS_REPORT_VIEWED)
    return page(request, "fg_access_form.html", actor=actor, error=None)


@router.post("/toegang")
def access_choose(request: Request, vault: VaultDep, form: VerifiedForm) -> Response:
    """The reference (or its beginning) → the report; several matches → a choice by full reference.
    The privacy officer only: the reference is resolved over every case."""
    _officer_only(vault, form.user, AuditTag.AUDIT_ACCESS_REPORT_VIEWED)
    typed = form.text("zaak", limit=64)
    too_many = False
    try:
        with transaction(vault.db) as session:
            found = every_case_for_reference(session, typed)
    except InvalidInput as exc:
        found, too_many = None, exc.rule == TOO_MANY_CASES
    if found is not None and len(found) == 1:
        return see_other(f"/fg/toegang/{found[0]}")
    error = (
        f"Dit begin van een zaaknummer past bij meer dan {MAX_MATCHES} zaken. Vul meer tekens van het "
        "zaaknummer in."
        if too_many
        else "Vul een zaaknummer in zoals VT-AB12-CD34 (of het begin ervan)."
        if found is None
        else "Geen zaak met dit zaaknummer."
        if not found
        else None
    )
    return page(
        request,
        "fg_access_form.html",
        actor=form.user,
        status_code=400 if error else 200,
        error=error,
        typed=typed,
        matches=found or [],
        zaakref=reference_of,
    )


def _after(request: Request) -> int | None:
    """The page asked for: the accesses after entry ``na`` (the last of the page before); 0 for the
    first page, None when ``na`` is not an entry number."""
    value = request.query_params.get("na")
    if value is None:
        return 0
    return int(value) if _SEQ.fullmatch(value) else None


def _report_page(vault: VaultDep, actor: WebActor, case_id: str, after: int) -> dict[str, Any]:
    """One page of the report, and where the next begins (None: this page holds the newest access)."""
    with transaction(vault.db) as session:
        report = audit_reports.case_access_report(
            session, vault, actor.ctx, case_id, after_seq=after, limit=_ACCESS_PAGE + 1
        )
        subject_parts = proof_bundles.bundle_parts(session, vault, actor.ctx, case_id, full=False)
        full_parts = proof_bundles.bundle_parts(session, vault, actor.ctx, case_id, full=True)
    # An actor that is no account (the system, a CLI operator) by what it is, not "onbekende gebruiker".
    accesses = [{**a, "username": a["username"] or actor_label(a["actor_id"])} for a in report["accesses"]]
    shown = accesses[:_ACCESS_PAGE]
    more = len(accesses) > _ACCESS_PAGE
    return {
        **report,
        "subject_parts": subject_parts,
        "full_parts": full_parts,
        "accesses": shown,
        "next_url": f"/fg/toegang/{case_id}?na={shown[-1]['seq']}" if more else None,
        "first_url": f"/fg/toegang/{case_id}" if after else None,
    }


@router.get("/toegang/{case_id}")
def access_report(request: Request, case_id: CaseId, vault: VaultDep, actor: WebUser) -> HTMLResponse:
    """D15: who accessed this case — name, role, organisation — when, what, on which ground; oldest
    first, ``_ACCESS_PAGE`` a page, with a link to the next while more follow (never a report cut off
    without saying so). A page that is not one (``na``) is 400 with the reason and the first page
    (after the role check, which ``case_access_report`` makes first)."""
    after = _after(request)
    report = _report_page(vault, actor, case_id, after or 0)
    return page(
        request,
        "fg_access.html",
        actor=actor,
        report=report,
        error=_BAD_ACCESS_PAGE if after is None else None,
        status_code=400 if after is None else 200,
        zaakref=reference_of,
    )


@router.get("/toegang/{case_id}/pdf")
def access_report_pdf(case_id: CaseId, vault: VaultDep, actor: WebUser) -> Response:
    """D15 for the data subject: "wie heeft mijn dossier ingezien", reporter and refusals left out."""
    with transaction(vault.db) as session:
        overview = access_overview.subject_overview(session, vault, actor.ctx, case_id)
    body = subject_overview_pdf(overview, vault.clock.now())
    filename = f"wie-zag-mijn-dossier-{reference_of(case_id)}.pdf"
    return Response(body, media_type="application/pdf", headers=download_headers(filename))


def _bundle_download(bundle: dict[str, Any], filename: str) -> Response:
    return Response(dump_bundle(bundle), media_type="application/json", headers=download_headers(filename))


def _part_name(case_id: str, full: bool, parts: list[proof_bundles.BundlePart], after: int) -> str | None:
    """The file name of the part that begins after entry ``after``, with the part's number when the
    bundle comes in parts; None when no part begins there (a link that is not one)."""
    kind = "toegangsrapport-bewijs" if full else "bewijs-betrokkene"
    if len(parts) <= 1:
        return None if after else f"{kind}.json" if full else f"{kind}-{reference_of(case_id)}.json"
    number = next((part.number for part in parts if part.after_seq == after), None)
    return None if number is None else f"{kind}-{reference_of(case_id)}-deel-{number}.json"


def _no_such_part(request: Request, actor: WebActor, case_id: str) -> HTMLResponse:
    """A bundle link that is not one (a hand-made or outdated ``na``): 400 with the reason."""
    return page(
        request,
        "error.html",
        actor=actor,
        status_code=400,
        status=400,
        title="Dit deel van het bewijs bestaat niet",
        text=f"De link klopt niet of is verouderd. Open het toegangsrapport van zaak {reference_of(case_id)} "
        "opnieuw en download het bewijs daar.",
    )


@router.get("/toegang/{case_id}/bewijs", dependencies=[OWN_PAGES_ONLY])  # it signs and asks witnesses
def access_report_bundle(request: Request, case_id: CaseId, vault: VaultDep, actor: WebUser) -> Response:
    """D15 with proof. By default the entries of the PDF for the data subject (D8, D13: the reporter,
    refusals, other subjects' requests left out); ``?volledig=ja`` all of them, for an auditor only.
    At most ``MAX_BUNDLE_ENTRIES`` a bundle: the report page links every part (``?na=`` the last
    entry of the part before), so none is cut off unsaid. The role first, then ``na``: a link that
    does not begin a part is 400 with the reason, never a bundle that silently starts elsewhere."""
    _officer_only(vault, actor, AuditTag.AUDIT_PROOF_ISSUED)
    full = request.query_params.get("volledig") == "ja"
    after = _after(request)
    name = None
    if after is not None:
        with transaction(vault.db) as session:
            parts = proof_bundles.bundle_parts(session, vault, actor.ctx, case_id, full=full)
        name = _part_name(case_id, full, parts, after)
    if after is None or name is None:
        return _no_such_part(request, actor, case_id)
    make = proof_bundles.access_report_bundle if full else proof_bundles.subject_overview_bundle
    try:
        bundle = make(vault, actor.ctx, case_id, after_seq=after)
    except Integrity:
        return _unprovable(request, actor)
    return _bundle_download(bundle, name)


def _unprovable(request: Request, actor: WebActor) -> HTMLResponse:
    """D16: an entry no longer matches the signed log (someone changed it in the database), so no proof
    can be given. The officer is told so, with where to look, not shown a server error (409: the log's
    state, not the link, is what is wrong)."""
    return page(
        request,
        "error.html",
        actor=actor,
        status_code=409,
        status=409,
        title="Geen bewijs mogelijk: het auditlog is gewijzigd",
        text="Een item in dit bewijs klopt niet met het ondertekende auditlog; het is na het ondertekenen "
        "veranderd. Daarom kan er geen bewijs worden gegeven. Kijk bij Integriteit welk item het is en "
        "meld het als beveiligingsincident.",
    )


@router.get("/bewijs/{seq}", dependencies=[OWN_PAGES_ONLY])
def entry_bundle(
    request: Request, seq: Annotated[int, Path(ge=1, le=2**63 - 1)], vault: VaultDep, actor: WebUser
) -> Response:
    """One audit entry with its proof, to keep and check later (tools/verify_bundle.py)."""
    try:
        bundle = proof_bundles.entry_bundle(vault, actor.ctx, seq)
    except Integrity:
        return _unprovable(request, actor)
    return _bundle_download(bundle, f"auditbewijs-{seq}.json")
