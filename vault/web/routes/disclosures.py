"""Disclosure to a partner (D8–D10): a form behind a fresh second-factor check (step-up)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response

from vault.domain import Category
from vault.errors import Forbidden, InvalidInput, NotFound, StepUpRequired
from vault.http.deps import VaultDep
from vault.http.params import UUID_PATTERN, CaseId
from vault.runtime import Vault
from vault.services import disclosures
from vault.services.case_view import CaseView, view_case
from vault.services.directory import organisation_names, organisations, usernames
from vault.web.csrf import VerifiedForm
from vault.web.labels import LEGAL_BASES
from vault.web.render import page, see_other
from vault.web.routes.panels import PanelValues
from vault.web.session import WebActor, WebUser

router = APIRouter(include_in_schema=False)

_DISCLOSABLE = [
    c for c in Category if c not in {Category.MEDICAL, Category.REPORTER_IDENTITY, Category.SUBJECTS}
]
_BASES = [code for code in LEGAL_BASES if code != "wmo-5.1.6"]


def panel(request: Request, vault: Vault, actor: WebActor, view: CaseView, break_glass: bool) -> PanelValues:
    """The values of ``templates/case/_sharing.html`` (nothing of it in a break-the-glass view)."""
    grants = [] if break_glass else disclosures.list_case_disclosures(vault, actor.ctx, view.case_id)
    return {
        "grants": grants,
        "organisations": organisation_names(vault, [g.org_id for g in grants] + [view.partner_org_id]),
    }


def _require_step_up(vault: VaultDep, actor: WebActor) -> None:
    if not actor.ctx.stepped_up_within(vault.settings.step_up_minutes):
        raise StepUpRequired("a disclosure needs a recent second-factor check")


def _form(
    request: Request,
    vault: VaultDep,
    actor: WebActor,
    case_id: str,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    view = view_case(vault, actor.ctx, case_id)
    documents = [d for d in view.documents if d.title is not None and d.category != Category.MEDICAL]
    orgs = organisations(vault)
    names = {o.id: o.name for o in orgs}
    return page(
        request,
        "disclose.html",
        actor=actor,
        case_id=case_id,
        organisations=orgs,
        # D9: the live consents to share, each naming the one organisation it covers.
        consents=[
            (c, names.get(c.recipient_org_id, ""))
            for c in disclosures.sharing_consents(vault, actor.ctx, case_id)
        ],
        bases=_BASES,
        categories=_DISCLOSABLE,
        documents=documents,
        default_days=vault.settings.disclosure_default_days,
        max_days=vault.settings.disclosure_max_days,
        # D23: the contact defaults to the worker who shares (accounts hold no phone number: typed).
        contact_name=usernames(vault, [actor.info.user_id]).get(actor.info.user_id, ""),
        today=actor.ctx.now(),
        error=error,
        status_code=status_code,
    )


@router.get("/zaken/{case_id}/delen")
def disclosure_form(request: Request, case_id: CaseId, vault: VaultDep, actor: WebUser) -> HTMLResponse:
    _require_step_up(vault, actor)
    return _form(request, vault, actor, case_id)


def _int(value: str, default: int) -> int:
    try:
        return int(value) if value else default
    except ValueError:
        raise InvalidInput("not a number") from None


@router.post("/zaken/{case_id}/delen")
def create_disclosure(request: Request, case_id: CaseId, vault: VaultDep, form: VerifiedForm) -> Response:
    actor = form.user
    _require_step_up(vault, actor)
    try:
        categories = frozenset(Category(c) for c in form.all("categories") if c in set(_DISCLOSABLE))
        req = disclosures.DisclosureRequest(
            case_id=case_id,
            org_id=form.text("org_id", limit=36),
            purpose=form.text("purpose", limit=64),
            legal_basis=form.text("legal_basis", limit=64),
            categories=categories,
            document_ids=frozenset(d[:36] for d in form.all("document_ids")[:200]),
            consent_reference=form.text("consent_reference", limit=64) or None,
            valid_days=_int(form.text("valid_days", limit=5), vault.settings.disclosure_default_days),
            max_retrievals=_int(form.text("max_retrievals", limit=4), 5),
            partner_title=form.text("partner_title", limit=200) or None,
            contact_name=form.text("contact_name", limit=128) or None,
            contact_phone=form.text("contact_phone", limit=32) or None,
        )
        disclosures.create_disclosure(vault, actor.ctx, req)
    except InvalidInput:
        return _form(
            request,
            vault,
            actor,
            case_id,
            error="Kies een organisatie, een doel, een grondslag en minstens één categorie of document; "
            "een telefoonnummer bestaat uit cijfers, spaties, +, - of haakjes. Medische stukken en de "
            "identiteit van de melder worden nooit zo verstrekt.",
            status_code=400,
        )
    except disclosures.DisclosureRefused as refused:
        if not refused.rule.startswith("d9-consent"):
            return _refused(request, vault, actor, case_id)
        return _form(
            request,
            vault,
            actor,
            case_id,
            error="Deze verstrekking is geweigerd: er is geen geldige vastgelegde toestemming die delen met "
            "deze organisatie dekt (de toestemming ontbreekt, geldt voor een andere ontvanger of is "
            "ingetrokken). De poging is vastgelegd.",
            status_code=403,
        )
    except Forbidden:
        return _refused(request, vault, actor, case_id)
    return see_other(f"/zaken/{case_id}#verstrekkingen")


def _refused(request: Request, vault: VaultDep, actor: WebActor, case_id: str) -> HTMLResponse:
    return _form(
        request,
        vault,
        actor,
        case_id,
        error="Deze verstrekking is geweigerd: de grondslag past niet bij deze ontvanger, of bij "
        "toestemming ontbreekt de verwijzing naar de vastgelegde toestemming. De poging is vastgelegd.",
        status_code=403,
    )


GrantPath = Annotated[str, Path(pattern=UUID_PATTERN, max_length=36)]


def _grant_of_case(vault: VaultDep, actor: WebActor, case_id: str, grant_id: str) -> disclosures.GrantView:
    for grant in disclosures.list_case_disclosures(vault, actor.ctx, case_id):
        if grant.id == grant_id:
            return grant
    raise NotFound("no such disclosure")


@router.get("/zaken/{case_id}/verstrekkingen/{grant_id}/intrekken")
def revoke_confirm(
    request: Request, case_id: CaseId, grant_id: GrantPath, vault: VaultDep, actor: WebUser
) -> HTMLResponse:
    """Ask before revoking; revoking needs a recent second factor, like creating."""
    _require_step_up(vault, actor)
    grant = _grant_of_case(vault, actor, case_id, grant_id)
    names = {o.id: o.name for o in organisations(vault)}
    return page(
        request,
        "revoke.html",
        actor=actor,
        case_id=case_id,
        grant=grant,
        organisation=names.get(grant.org_id, grant.org_id),
    )


@router.post("/zaken/{case_id}/verstrekkingen/{grant_id}/intrekken")
def revoke(case_id: CaseId, grant_id: GrantPath, vault: VaultDep, form: VerifiedForm) -> Response:
    """Revoke at once: the partner's next retrieval is refused (audited disclosure:grant:revoked)."""
    actor = form.user
    _require_step_up(vault, actor)
    _grant_of_case(vault, actor, case_id, grant_id)
    disclosures.revoke_disclosure(vault, actor.ctx, grant_id)
    return see_other(f"/zaken/{case_id}#verstrekkingen")
