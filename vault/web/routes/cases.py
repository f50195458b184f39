"""The case view: record, subjects, documents by category, disclosures, timeline; break-the-glass (D20)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response

from vault.audit.break_glass import without_refused_characters
from vault.domain import STAFF_ROLES, Action, reference_of
from vault.errors import NotFound, StepUpRequired
from vault.http.deps import VaultDep
from vault.http.params import CaseId
from vault.policy import BREAK_GLASS_MIN_CHARS, non_blank_chars
from vault.runtime import Vault
from vault.services.case_view import CaseView, view_case
from vault.services.directory import team_names, usernames
from vault.services.gate import GateRequest, would_allow
from vault.web.csrf import VerifiedForm
from vault.web.references import resolve_case
from vault.web.render import page, see_other
from vault.web.routes import disclosures, documents, journal, people, rights, timeline, workflow
from vault.web.routes.panels import Panel, PanelValues, collect
from vault.web.session import WebActor, WebUser

router = APIRouter(include_in_schema=False)

_MAX_JUSTIFICATION = 1000


def people_panel(
    request: Request, vault: Vault, actor: WebActor, view: CaseView, break_glass: bool
) -> PanelValues:
    """The values of ``templates/case/_head.html`` and ``_people.html`` (``vault.web.routes.people``)."""
    return {
        "team": team_names(vault, [view.team_id]).get(view.team_id or ""),
        "owner": usernames(vault, [view.owner_id]).get(view.owner_id or ""),
        **people.panel(request, vault, actor, view, break_glass),
    }


PANELS: tuple[Panel, ...] = (
    people_panel,
    workflow.panel,
    documents.panel,
    disclosures.panel,
    journal.panel,
    rights.panel,
    timeline.panel,
)


def _case_page(
    request: Request,
    vault: Vault,
    actor: WebActor,
    view: CaseView,
    *,
    break_glass: bool,
    justification: str | None = None,
) -> HTMLResponse:
    """``justification``: under break-the-glass, re-carried by each document's read form (D20)."""
    values = collect(PANELS, request, vault, actor, view, break_glass)
    return page(
        request,
        "case.html",
        actor=actor,
        case=view,
        break_glass=break_glass,
        break_glass_justification=justification,
        **values,
    )


@router.get("/zaken/{case_id}")
def case(request: Request, case_id: Annotated[str, Path()], vault: VaultDep, actor: WebUser) -> Response:
    """The case page; a reference (VT-XXXX-XXXX) or a short id resolves to it (``references``)."""
    found = resolve_case(request, vault, actor, case_id)
    if isinstance(found, Response):
        return found
    return _case_page(request, vault, actor, view_case(vault, actor.ctx, found), break_glass=False)


def _already_readable(vault: Vault, actor: WebActor, case_id: str) -> bool:
    """D20: the case is the actor's own (team, assigned): the gate would decide on that line and
    ignore a justification, so no emergency access would be kept (review B3). A preview, not audited."""
    return would_allow(vault, actor.ctx, GateRequest(case_id, Action.READ))


def _form(request: Request, actor: WebActor, case_id: str, **values: Any) -> HTMLResponse:
    return page(
        request, "break_glass.html", actor=actor, case_id=case_id, reference=reference_of(case_id), **values
    )


@router.get("/zaken/{case_id}/noodtoegang", response_model=None)
def break_glass_form(request: Request, case_id: CaseId, vault: VaultDep, actor: WebUser) -> Response:
    if actor.ctx.role not in STAFF_ROLES:
        # Only Veilig Thuis staff may ever break the glass; the others' POST ends in the gate's refusal.
        raise NotFound("no such case")
    if _already_readable(vault, actor, case_id):
        return see_other(f"/zaken/{case_id}", notice="al-toegang")
    return _form(request, actor, case_id, error=None)


def _justification_error(typed: str, justification: str) -> str | None:
    """The Dutch reason the form refuses ``justification`` (``typed`` as sent), or None."""
    counted = non_blank_chars(justification)
    if counted < BREAK_GLASS_MIN_CHARS or len(justification) > _MAX_JUSTIFICATION:
        error = "Schrijf een onderbouwing van 20 tot 1000 tekens."
        if counted < sum(1 for ch in justification if not ch.isspace()):
            # D20 (review B8): invisible characters and loose marks do not count as characters.
            error += " Onzichtbare tekens en losse accenttekens tellen niet mee."
        return error
    if justification != typed:
        return (
            "Uw onderbouwing bevatte onzichtbare stuurtekens. "
            "Die zijn weggehaald: lees haar na en verstuur opnieuw."
        )
    return None


@router.post("/zaken/{case_id}/noodtoegang", response_model=None)
def break_glass(request: Request, case_id: CaseId, vault: VaultDep, form: VerifiedForm) -> Response:
    """D20: read-only emergency access outside one's team, with a written justification (step-up)."""
    actor = form.user
    if _already_readable(vault, actor, case_id):
        return see_other(f"/zaken/{case_id}", notice="al-toegang")
    # A browser sends a line break as CRLF; any other control character is refused (D20: a bare CR
    # would start a row in the privacy officer's CSV export) and left out of the form shown again.
    # Read up to twice the limit (review s18 G2): a browser sends each line break as two characters, and
    # a text cut on its length on the wire would be kept cut off, or cut between CR and LF.
    typed = form.text("justification", limit=2 * _MAX_JUSTIFICATION + 1).replace("\r\n", "\n")
    justification = without_refused_characters(typed)
    error = _justification_error(typed, justification)
    if error is not None:
        return _form(request, actor, case_id, error=error, justification=justification, status_code=400)
    if not actor.ctx.stepped_up_within(vault.settings.step_up_minutes):
        # Ask for the code first; the gate would refuse (and audit a denial) otherwise.
        raise StepUpRequired("break-the-glass needs a recent second-factor check")
    view = view_case(vault, actor.ctx, case_id, break_glass_justification=justification)
    # Panels that read more of the case (the journal's notes) read it under the same justification.
    request.state.break_glass_justification = justification
    return _case_page(request, vault, actor, view, break_glass=True, justification=justification)
