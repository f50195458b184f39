"""The case view: record, subjects, documents by category, disclosures, timeline; break-the-glass (D20)."""

from __future__ import annotations

from collections import defaultdict

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from vault.domain import Category
from vault.errors import StepUpRequired
from vault.http.deps import VaultDep
from vault.http.params import CaseId
from vault.services import disclosures
from vault.services.case_view import CaseView, DocumentEntry, view_case
from vault.services.directory import organisation_names, team_names, usernames
from vault.web.csrf import VerifiedForm
from vault.web.render import page
from vault.web.session import WebActor, WebUser

router = APIRouter(include_in_schema=False)

_UPLOAD_CATEGORIES = [c for c in Category if c not in {Category.SUBJECTS, Category.REPORTER_IDENTITY}]
_MAX_JUSTIFICATION = 1000


def _by_category(documents: list[DocumentEntry]) -> list[tuple[str, list[DocumentEntry]]]:
    groups: dict[str, list[DocumentEntry]] = defaultdict(list)
    for doc in documents:
        groups[doc.category].append(doc)
    order = [str(c) for c in Category]
    return sorted(groups.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order))


def _case_page(
    request: Request, vault: VaultDep, actor: WebActor, view: CaseView, *, break_glass: bool
) -> HTMLResponse:
    grants = [] if break_glass else disclosures.list_case_disclosures(vault, actor.ctx, view.case_id)
    return page(
        request,
        "case.html",
        actor=actor,
        case=view,
        documents=_by_category(view.documents),
        grants=grants,
        organisations=organisation_names(vault, [g.org_id for g in grants] + [view.partner_org_id]),
        team=team_names(vault, [view.team_id]).get(view.team_id or ""),
        owner=usernames(vault, [view.owner_id]).get(view.owner_id or ""),
        upload_categories=_UPLOAD_CATEGORIES,
        break_glass=break_glass,
        max_upload=vault.settings.max_upload_bytes,
    )


@router.get("/zaken/{case_id}")
def case(request: Request, case_id: CaseId, vault: VaultDep, actor: WebUser) -> HTMLResponse:
    return _case_page(request, vault, actor, view_case(vault, actor.ctx, case_id), break_glass=False)


@router.get("/zaken/{case_id}/noodtoegang")
def break_glass_form(request: Request, case_id: CaseId, actor: WebUser) -> HTMLResponse:
    return page(request, "break_glass.html", actor=actor, case_id=case_id, error=None)


@router.post("/zaken/{case_id}/noodtoegang")
def break_glass(request: Request, case_id: CaseId, vault: VaultDep, form: VerifiedForm) -> HTMLResponse:
    """D20: read-only emergency access outside one's team, with a written justification (step-up)."""
    actor = form.user
    justification = form.text("justification", limit=_MAX_JUSTIFICATION + 1)
    if len(justification) < 20 or len(justification) > _MAX_JUSTIFICATION:
        return page(
            request,
            "break_glass.html",
            actor=actor,
            case_id=case_id,
            error="Schrijf een onderbouwing van 20 tot 1000 tekens.",
            status_code=400,
        )
    if not actor.ctx.stepped_up_within(vault.settings.step_up_minutes):
        # Ask for the code first; the gate would refuse (and audit a denial) otherwise.
        raise StepUpRequired("break-the-glass needs a recent second-factor check")
    view = view_case(vault, actor.ctx, case_id, break_glass_justification=justification)
    return _case_page(request, vault, actor, view, break_glass=True)
