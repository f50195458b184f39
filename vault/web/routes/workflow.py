"""Case workflow pages: triage (D5, D6 handover shown for confirmation first), investigation and
monitoring (D7). Own motion (D4), assignment and retention (D11) are in ``workflow_case``.

Every rule lives in the services (``triage``, ``own_motion``, ``assignments``, ``retention``), which
the API uses too; these routes parse the form, call the service and name a refusal in Dutch beside
its field. Each page reads the case through ``view_case`` (an audited read)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response

from vault.domain import OrgType, TriageOutcome, reference_of
from vault.errors import Conflict, Forbidden, InvalidInput, NotFound, StepUpRequired
from vault.http.deps import VaultDep
from vault.http.params import UUID_PATTERN, CaseId
from vault.runtime import Vault
from vault.services import assignments, own_motion, retention, triage
from vault.services.calendar import MONITORING_LOOK_AHEAD_DAYS, local_date
from vault.services.case_view import CaseView, view_case
from vault.services.directory import organisation_names, organisations, usernames
from vault.services.disclosure_rules import plausible_phone
from vault.web.csrf import VerifiedForm, WebForm
from vault.web.fg_reports import parse_day
from vault.web.render import page, see_other
from vault.web.routes.panels import PanelValues
from vault.web.session import WebActor, WebUser

router = APIRouter(include_in_schema=False)

MonitoringId = Annotated[str, Path(pattern=UUID_PATTERN, max_length=36)]
Errors = dict[str, str]

POSTPONE_REASONS = {
    "family_unreachable": "Het gezin was niet bereikbaar",
    "appointment_moved": "De afspraak is verzet (door het gezin of een ketenpartner)",
    "help_recently_started": "De hulp is pas gestart; nu nagaan zegt nog te weinig",
    "partner_information_pending": "We wachten op informatie van een ketenpartner",
}
RETENTION_REASONS = {
    "legal_proceedings": "Het dossier is nodig in een lopende procedure",
    "statutory_obligation": "Een andere wet verplicht tot langer bewaren",
    "subject_interest": "Op verzoek of in het belang van de betrokkene",
}


def _today(actor: WebActor) -> date:
    return local_date(actor.ctx.now())


def panel(request: Request, vault: Vault, actor: WebActor, view: CaseView, break_glass: bool) -> PanelValues:
    """The values of ``templates/case/_workflow.html`` (read-only in a break-the-glass view)."""
    today = _today(actor)
    open_triage = view.kind == "report" and view.triage_outcome is None
    values: PanelValues = {
        "wf_reference": reference_of(view.case_id),
        "wf_actions": not break_glass,
        "wf_today": today,
        "wf_triage_overdue": bool(open_triage and view.triage_due and view.triage_due < today),
        "wf_handover_org": organisation_names(vault, [view.partner_org_id]).get(view.partner_org_id or ""),
        "wf_postpone_reasons": POSTPONE_REASONS,
        "wf_assignees": [],
        "wf_retention": None,
        "wf_may_assign": False,
    }
    if not break_glass:
        values["wf_assignees"] = assignments.case_assignees(vault, actor.ctx, view.case_id)
        values["wf_retention"] = retention.retention_of(vault, actor.ctx, view.case_id)
        values["wf_may_assign"] = bool(assignments.assignable_staff(vault, actor.ctx, view.case_id))
    return values


def start_values(vault: Vault, actor: WebActor) -> PanelValues:
    """The values of ``templates/start/_workflow.html``: own-motion conversions awaiting my approval (D4)."""
    waiting = own_motion.awaiting_my_approval(vault, actor.ctx)
    return {"wf_awaiting": [(item, reference_of(item.case_id)) for item in waiting]}


def _require_step_up(vault: Vault, actor: WebActor) -> None:
    if not actor.ctx.stepped_up_within(vault.settings.step_up_minutes):
        raise StepUpRequired("a handover creates a disclosure: it needs a recent second-factor check")


# --- Triage (D5, D6) -------------------------------------------------------------------------------


def _partner_orgs(vault: Vault) -> list[tuple[str, str, str]]:
    fitting = set().union(*triage.PARTNER_FOR_OUTCOME.values())
    return [(o.id, o.name, o.org_type) for o in organisations(vault) if o.org_type in fitting]


def _triage_page(
    request: Request,
    vault: Vault,
    actor: WebActor,
    case_id: str,
    *,
    values: dict[str, str] | None = None,
    errors: Errors | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    view = view_case(vault, actor.ctx, case_id)
    typed = values or {"contact_name": usernames(vault, [actor.info.user_id]).get(actor.info.user_id, "")}
    return page(
        request,
        "workflow_triage.html",
        actor=actor,
        case=view,
        reference=reference_of(case_id),
        today=_today(actor),
        outcomes=list(TriageOutcome),
        partner_outcomes={str(o) for o in triage.PARTNER_FOR_OUTCOME},
        partners=_partner_orgs(vault),
        values=typed,
        errors=errors or {},
        status_code=status_code,
    )


@router.get("/zaken/{case_id}/triage")
def triage_form(request: Request, case_id: CaseId, vault: VaultDep, actor: WebUser) -> HTMLResponse:
    return _triage_page(request, vault, actor, case_id)


def _triage_errors(form: WebForm, vault: Vault) -> tuple[dict[str, str], Errors]:
    values = {
        name: form.text(name, limit=limit)
        for name, limit in (
            ("outcome", 64),
            ("partner_org_id", 36),
            ("contact_name", 128),
            ("contact_phone", 32),
        )
    }
    errors: Errors = {}
    if values["outcome"] not in set(TriageOutcome):
        errors["outcome"] = "Kies de uitkomst van de triage."
        return values, errors
    allowed = triage.PARTNER_FOR_OUTCOME.get(TriageOutcome(values["outcome"]))
    if allowed is None:
        values["partner_org_id"] = ""
        return values, errors
    types = {org_id: org_type for org_id, _name, org_type in _partner_orgs(vault)}
    if values["partner_org_id"] not in types:
        errors["partner_org_id"] = "Kies de organisatie die de zaak ontvangt."
    elif OrgType(types[values["partner_org_id"]]) not in allowed:
        errors["partner_org_id"] = "Deze organisatie past niet bij deze uitkomst. Kies een andere."
    # D23: the partner gets a person and a number to call; the disclosures service checks the same.
    if not any(ch.isalpha() for ch in values["contact_name"]):
        errors["contact_name"] = "Noem de contactpersoon bij Veilig Thuis voor de warme overdracht."
    if not values["contact_phone"].strip():
        errors["contact_phone"] = (
            "Vul het telefoonnummer van de contactpersoon in: de ketenpartner belt dit nummer."
        )
    elif not plausible_phone(values["contact_phone"]):
        errors["contact_phone"] = (
            "Een telefoonnummer heeft 8 tot 15 cijfers, met eventueel een + aan het begin, spaties, "
            "streepjes of haakjes, bijvoorbeeld 030 123 45 67."
        )
    return values, errors


@router.post("/zaken/{case_id}/triage")
def record_triage(request: Request, case_id: CaseId, vault: VaultDep, form: VerifiedForm) -> Response:
    """D6: the outcome; one that passes the case to a partner is first shown for confirmation."""
    actor = form.user
    values, errors = _triage_errors(form, vault)
    if errors:
        return _triage_page(request, vault, actor, case_id, values=values, errors=errors, status_code=400)
    outcome = TriageOutcome(values["outcome"])
    partner = values["partner_org_id"] or None
    if partner is not None:
        _require_step_up(vault, actor)
        if form.text("bevestigd", limit=3) != "ja":
            return _handover_confirmation(request, vault, actor, case_id, outcome, values)
    try:
        triage.record_triage_outcome(
            vault,
            actor.ctx,
            case_id,
            outcome,
            partner_org_id=partner,
            contact_name=values["contact_name"] or None,
            contact_phone=values["contact_phone"] or None,
        )
    except Conflict:
        errors["outcome"] = "Het triagebesluit van deze zaak is al vastgelegd."
    except InvalidInput as refused:
        field = getattr(refused, "field", "outcome")
        errors[field if field in values else "outcome"] = (
            "Alleen een melding wordt getriageerd."
            if refused.rule == "d6-not-a-report"
            else "Dit besluit kon niet worden vastgelegd: controleer de uitkomst, de organisatie en het "
            "telefoonnummer."
        )
    except Forbidden:
        errors["partner_org_id"] = (
            "De overdracht aan deze organisatie is geweigerd: de grondslag past niet bij deze ontvanger. "
            "De poging is vastgelegd."
        )
    if errors:
        return _triage_page(request, vault, actor, case_id, values=values, errors=errors, status_code=400)
    notice = "overdracht-vastgelegd" if partner else "triage-vastgelegd"
    return see_other(f"/zaken/{case_id}", notice=notice)


def _handover_confirmation(
    request: Request,
    vault: Vault,
    actor: WebActor,
    case_id: str,
    outcome: TriageOutcome,
    values: dict[str, str],
) -> HTMLResponse:
    """Exactly the disclosure the handover will create (D6, D9, D10, D23), before it is recorded."""
    view = view_case(vault, actor.ctx, case_id)
    disclosure = triage.handover_disclosure(
        case_id,
        values["partner_org_id"],
        outcome,
        contact_name=values["contact_name"] or None,
        contact_phone=values["contact_phone"] or None,
    )
    days = vault.settings.disclosure_default_days
    return page(
        request,
        "workflow_handover.html",
        actor=actor,
        case=view,
        reference=reference_of(case_id),
        outcome=outcome,
        disclosure=disclosure,
        organisation=organisation_names(vault, [disclosure.org_id]).get(disclosure.org_id, ""),
        categories=sorted(disclosure.categories),
        valid_days=days,
        valid_until=_today(actor) + timedelta(days=days),
        values=values,
    )


# --- Investigation and monitoring (D7) -------------------------------------------------------------


def _investigation_page(
    request: Request,
    vault: Vault,
    actor: WebActor,
    case_id: str,
    *,
    values: dict[str, str] | None = None,
    errors: Errors | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    view = view_case(vault, actor.ctx, case_id)
    return page(
        request,
        "workflow_investigation.html",
        actor=actor,
        case=view,
        reference=reference_of(case_id),
        values=values or {},
        errors=errors or {},
        status_code=status_code,
    )


@router.get("/zaken/{case_id}/onderzoek")
def investigation_form(request: Request, case_id: CaseId, vault: VaultDep, actor: WebUser) -> HTMLResponse:
    return _investigation_page(request, vault, actor, case_id)


def _day(values: dict[str, str], name: str, errors: Errors) -> date | None:
    try:
        return parse_day(values[name])
    except InvalidInput:
        errors[name] = "Vul een datum in als dd-mm-jjjj, bijvoorbeeld 03-02-2026."
        return None


_INVESTIGATION_REFUSALS = {  # rule → (field, text)
    "d7-start-first": ("ended_on", "Leg eerst de start van het onderzoek vast."),
    "d7-start-recorded": ("started_on", "De start van het onderzoek is al vastgelegd."),
    "d7-end-recorded": ("ended_on", "Het einde van het onderzoek is al vastgelegd."),
    "d7-start-range": ("started_on", "De start ligt tussen het triagebesluit en vandaag."),
    "d7-end-range": ("ended_on", "Het einde ligt tussen de start van het onderzoek en vandaag."),
    "d7-no-inv": ("started_on", "De triage van deze zaak heeft niet tot een onderzoek geleid."),
    "d7-start-or-end": ("started_on", "Vul de start of het einde van het onderzoek in."),
}


@router.post("/zaken/{case_id}/onderzoek")
def record_investigation(request: Request, case_id: CaseId, vault: VaultDep, form: VerifiedForm) -> Response:
    actor = form.user
    values = {name: form.day(name) for name in ("started_on", "ended_on")}
    errors: Errors = {}
    started, ended = _day(values, "started_on", errors), _day(values, "ended_on", errors)
    if not errors:
        try:
            triage.record_investigation(vault, actor.ctx, case_id, started_on=started, ended_on=ended)
        except (InvalidInput, Conflict) as refused:
            field, text = _INVESTIGATION_REFUSALS.get(
                refused.rule or "", ("started_on", "Dit kon niet worden vastgelegd. Controleer de data.")
            )
            errors[field] = text
    if errors:
        return _investigation_page(
            request, vault, actor, case_id, values=values, errors=errors, status_code=400
        )
    return see_other(f"/zaken/{case_id}", notice="onderzoek-vastgelegd")


@router.post("/zaken/{case_id}/monitoring/{monitoring_id}/gedaan")
def monitoring_done(
    request: Request, case_id: CaseId, monitoring_id: MonitoringId, vault: VaultDep, form: VerifiedForm
) -> Response:
    """D7: a monitoring moment was done (a 409 page if it already was; a 400 page naming why if it
    is not due yet)."""
    try:
        triage.complete_monitoring(vault, form.user.ctx, case_id, monitoring_id)
    except InvalidInput as refused:
        if refused.rule != triage.NOT_DUE_YET:
            raise
        return page(
            request,
            "error.html",
            actor=form.user,
            status_code=400,
            status=400,
            title="Deze monitoring is nog niet aan de beurt",
            text=f"Dit monitoringsmoment van zaak {reference_of(case_id)} ligt meer dan "
            f"{MONITORING_LOOK_AHEAD_DAYS} dagen in de toekomst. U kunt het als gedaan vastleggen vanaf "
            f"{MONITORING_LOOK_AHEAD_DAYS} dagen voor de datum; dan staat het ook op de lijst Monitoring "
            "op de startpagina. Er is niets gewijzigd.",
            break_glass_case=None,
        )
    return see_other(f"/zaken/{case_id}", notice="monitoring-gedaan")


def _postpone_page(
    request: Request,
    vault: Vault,
    actor: WebActor,
    case_id: str,
    monitoring_id: str,
    *,
    values: dict[str, str] | None = None,
    errors: Errors | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    view = view_case(vault, actor.ctx, case_id)
    check = next((m for m in view.monitoring if m.monitoring_id == monitoring_id), None)
    if check is None:
        raise NotFound("no such monitoring moment")
    if check.done_at is not None:
        raise Conflict("this monitoring moment was already done")
    return page(
        request,
        "workflow_postpone.html",
        actor=actor,
        case=view,
        reference=reference_of(case_id),
        check=check,
        reasons=POSTPONE_REASONS,
        max_months=triage.MAX_POSTPONE_MONTHS,
        values=values or {},
        errors=errors or {},
        status_code=status_code,
    )


@router.get("/zaken/{case_id}/monitoring/{monitoring_id}/uitstellen")
def postpone_form(
    request: Request, case_id: CaseId, monitoring_id: MonitoringId, vault: VaultDep, actor: WebUser
) -> HTMLResponse:
    return _postpone_page(request, vault, actor, case_id, monitoring_id)


@router.post("/zaken/{case_id}/monitoring/{monitoring_id}/uitstellen")
def postpone(
    request: Request, case_id: CaseId, monitoring_id: MonitoringId, vault: VaultDep, form: VerifiedForm
) -> Response:
    """D7: move a monitoring moment to a later date, with a reason from the fixed list."""
    actor = form.user
    values = {"until": form.day("until"), "reason": form.text("reason", limit=40)}
    errors: Errors = {}
    if values["reason"] not in POSTPONE_REASONS:
        errors["reason"] = "Kies de reden van het uitstel."
    until = _day(values, "until", errors)
    if until is None and "until" not in errors:
        errors["until"] = "Vul de nieuwe datum in als dd-mm-jjjj."
    if not errors and until is not None:
        try:
            triage.postpone_monitoring(
                vault,
                actor.ctx,
                case_id,
                monitoring_id,
                until=until,
                reason=triage.PostponeReason(values["reason"]),
            )
        except InvalidInput as refused:
            errors["until"] = (
                f"Uitstellen kan met hoogstens {triage.MAX_POSTPONE_MONTHS} maanden tegelijk."
                if refused.rule == "postpone-too-far"
                else "De nieuwe datum ligt na vandaag en na de huidige datum van de monitoring."
            )
    if errors:
        return _postpone_page(
            request, vault, actor, case_id, monitoring_id, values=values, errors=errors, status_code=400
        )
    return see_other(f"/zaken/{case_id}", notice="monitoring-uitgesteld")
