"""Case workflow pages, second part: own-motion conversion with two approvals of different disciplines
(D4), assignment and reassignment, retention extension with a reason (D11) and a legal hold lifted with
a reason code (D12).

The rules live in the services (``own_motion``, ``assignments``, ``retention``), as for the API; a
refusal is named here in Dutch beside its field."""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response

from vault.domain import Action, AuditTag, Role, reference_of
from vault.errors import Conflict, Forbidden, InvalidInput, NotFound, VaultError
from vault.http.deps import VaultDep
from vault.http.params import UUID_PATTERN, CaseId
from vault.labels import AMSTERDAM, HOLD_LIFT_REASONS, OWN_MOTION_DECLINE_REASONS
from vault.runtime import Vault
from vault.services import assignments, legal_hold, own_motion, retention
from vault.services.case_view import view_case
from vault.services.directory import usernames
from vault.services.gate import GateRequest, pass_gate, would_allow
from vault.services.gate_vocabulary import RuleRefused
from vault.web.csrf import VerifiedForm
from vault.web.fg_reports import parse_day
from vault.web.render import page, see_other
from vault.web.routes.workflow import RETENTION_REASONS, Errors
from vault.web.session import WebActor, WebUser

router = APIRouter(include_in_schema=False)

ObjectId = Annotated[str, Path(pattern=UUID_PATTERN, max_length=36)]

# D4 refusals named in Dutch (the rule ids come from the policy and the service).
OWN_MOTION_REFUSALS = {
    "d4-two-disciplines-required": "Nog niet omgezet: er is een goedkeuring nodig van twee medewerkers van "
    "verschillende disciplines (bijvoorbeeld een medewerker en een vertrouwensarts). Een tweede "
    "goedkeuring uit dezelfde discipline telt niet mee.",
    "d4-reason-required": "Nog niet omgezet: de reden van de ambtshalve melding ontbreekt.",
    "d4-invalid-approval": "Nog niet omgezet: een goedkeuring komt niet van een medewerker van Veilig Thuis.",
    "already-approved": "U heeft dit verzoek al goedgekeurd. De tweede goedkeuring moet van een collega van "
    "een andere discipline komen.",
}
# D4: a pending request withdrawn or declined; what a refusal of either says in Dutch.
OWN_MOTION_ENDING_REFUSALS = {
    "d4-withdraw-not-requester": "Alleen wie de omzetting aanvroeg, of de teamleider van het team van de "
    "zaak, trekt het verzoek in.",
    "d4-decline-by-requester": "U vroeg deze omzetting zelf aan: trek het verzoek in in plaats van het af "
    "te wijzen.",
    "not-pending": "Dit verzoek is al afgehandeld: het is omgezet, ingetrokken of afgewezen.",
    "no-reason": "Kies waarom u het verzoek afwijst.",
}
# D12: a legal hold lifted from the retention page; what a refusal says in Dutch.
HOLD_LIFT_REFUSALS = {
    "no-reason": "Kies waarom de blokkade wordt opgeheven.",
    "no-hold": "Deze zaak heeft geen lopende juridische blokkade meer: die is al opgeheven of afgelopen. "
    "Er is niets gewijzigd.",
}


# --- Own motion (D4) -------------------------------------------------------------------------------


def _own_motion_page(
    request: Request,
    vault: Vault,
    actor: WebActor,
    case_id: str,
    *,
    values: dict[str, str] | None = None,
    errors: Errors | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    # First: staff only (D4, D22); anyone else gets the refusal page, audited, before the case is read.
    pending = own_motion.pending_conversion(vault, actor.ctx, case_id)
    view = view_case(vault, actor.ctx, case_id)
    ended = own_motion.ended_conversion(vault, actor.ctx, case_id) if pending is None else None
    names = usernames(
        vault,
        [pending.requested_by, *(a.approver_id for a in pending.approvals)]
        if pending
        else [ended.decided_by]
        if ended
        else [],
    )
    mine = bool(pending and pending.requested_by == actor.info.user_id)
    return page(
        request,
        "workflow_own_motion.html",
        actor=actor,
        case=view,
        reference=reference_of(case_id),
        pending=pending,
        names=names,
        approved_by_me=bool(pending and any(a.approver_id == actor.info.user_id for a in pending.approvals)),
        ended=ended,
        may_withdraw=mine or actor.role == Role.TEAMLEIDER,
        may_decline=bool(pending) and not mine,
        decline_reasons=OWN_MOTION_DECLINE_REASONS,
        values=values or {},
        errors=errors or {},
        status_code=status_code,
    )


@router.get("/zaken/{case_id}/ambtshalve")
def own_motion_form(request: Request, case_id: CaseId, vault: VaultDep, actor: WebUser) -> HTMLResponse:
    return _own_motion_page(request, vault, actor, case_id)


@router.post("/zaken/{case_id}/ambtshalve")
def request_own_motion(request: Request, case_id: CaseId, vault: VaultDep, form: VerifiedForm) -> Response:
    """D4: a staff member asks to convert the advice case, with the reason (sealed under the case key)."""
    actor = form.user
    values = {"reason": form.text("reason", limit=2100)}
    errors: Errors = {}
    try:
        own_motion.request_own_motion(vault, actor.ctx, case_id, reason=values["reason"])
    except Conflict:
        errors["reason"] = "Voor deze zaak loopt al een verzoek om een ambtshalve melding."
    except InvalidInput as refused:
        errors["reason"] = (
            "Alleen een adviesvraag kan worden omgezet in een melding."
            if refused.rule == "d4-not-advice"
            else "Schrijf de reden in 10 tot 2000 tekens: het hoge en acute risico en het "
            "persoonlijke gesprek."
        )
    if errors:
        return _own_motion_page(request, vault, actor, case_id, values=values, errors=errors, status_code=400)
    return see_other(f"/zaken/{case_id}/ambtshalve", notice="ambtshalve-aangevraagd")


@router.post("/zaken/{case_id}/ambtshalve/{conversion_id}/goedkeuren")
def approve_own_motion(
    request: Request, case_id: CaseId, conversion_id: ObjectId, vault: VaultDep, form: VerifiedForm
) -> Response:
    """D4: one approval; once two disciplines approved, the conversion follows at once (the service
    decides and audits, and names the rule that failed)."""
    actor = form.user
    try:
        approvals = own_motion.approve_own_motion(vault, actor.ctx, case_id, conversion_id)
    except Conflict:
        return _own_motion_page(
            request,
            vault,
            actor,
            case_id,
            errors={"approve": OWN_MOTION_REFUSALS["already-approved"]},
            status_code=409,
        )
    if approvals < 2:
        return see_other(f"/zaken/{case_id}/ambtshalve", notice="ambtshalve-goedgekeurd")
    try:
        own_motion.convert_own_motion(vault, actor.ctx, case_id, conversion_id)
    except own_motion.ConversionRefused as refused:
        text = OWN_MOTION_REFUSALS.get(
            refused.rule, "Nog niet omgezet: de voorwaarden van D4 zijn niet vervuld."
        )
        return _own_motion_page(request, vault, actor, case_id, errors={"approve": text}, status_code=403)
    return see_other(f"/zaken/{case_id}", notice="ambtshalve-omgezet")


def _ending_refused(
    request: Request, vault: Vault, actor: WebActor, case_id: str, key: str, error: VaultError, code: int
) -> HTMLResponse:
    """The own-motion page again, with the Dutch refusal of a withdrawal or decline beside its form."""
    rule = error.rule or ""
    text = OWN_MOTION_ENDING_REFUSALS.get(rule) or OWN_MOTION_ENDING_REFUSALS[key]
    field = "decline_reason" if key == "no-reason" or rule == "d4-decline-by-requester" else "end"
    return _own_motion_page(request, vault, actor, case_id, errors={field: text}, status_code=code)


@router.post("/zaken/{case_id}/ambtshalve/{conversion_id}/intrekken")
def withdraw_own_motion(
    request: Request, case_id: CaseId, conversion_id: ObjectId, vault: VaultDep, form: VerifiedForm
) -> Response:
    """D4: the requester (or a team leader of the case's team) withdraws a pending request."""
    actor = form.user
    try:
        own_motion.withdraw_own_motion(vault, actor.ctx, case_id, conversion_id)
    except Conflict as error:
        return _ending_refused(request, vault, actor, case_id, "not-pending", error, 409)
    except Forbidden as error:
        if error.rule not in OWN_MOTION_ENDING_REFUSALS:
            raise
        return _ending_refused(request, vault, actor, case_id, "not-pending", error, 403)
    return see_other(f"/zaken/{case_id}/ambtshalve", notice="ambtshalve-ingetrokken")


@router.post("/zaken/{case_id}/ambtshalve/{conversion_id}/afwijzen")
def decline_own_motion(
    request: Request, case_id: CaseId, conversion_id: ObjectId, vault: VaultDep, form: VerifiedForm
) -> Response:
    """D4: a staff member of the case (not the requester) declines a pending request, with a reason code."""
    actor = form.user
    reason = form.text("decline_reason", limit=32)
    try:
        own_motion.decline_own_motion(vault, actor.ctx, case_id, conversion_id, reason=reason)
    except InvalidInput as error:
        return _ending_refused(request, vault, actor, case_id, "no-reason", error, 400)
    except Conflict as error:
        return _ending_refused(request, vault, actor, case_id, "not-pending", error, 409)
    except Forbidden as error:
        if error.rule not in OWN_MOTION_ENDING_REFUSALS:
            raise
        return _ending_refused(request, vault, actor, case_id, "not-pending", error, 403)
    return see_other(f"/zaken/{case_id}/ambtshalve", notice="ambtshalve-afgewezen")


# --- Assignment ------------------------------------------------------------------------------------


def _staff_only(actor: WebActor) -> None:
    """Who works on a case and how long it is kept are Veilig Thuis's own business: a professional who
    asked advice gets the refusal page, as for the own-motion page, and their case page links neither."""
    if not Role(actor.role).is_staff:
        raise Forbidden("staff only")


def _assignment_page(
    request: Request,
    vault: Vault,
    actor: WebActor,
    case_id: str,
    *,
    errors: Errors | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    _staff_only(actor)
    view = view_case(vault, actor.ctx, case_id)
    assigned = assignments.case_assignees(vault, actor.ctx, case_id)
    taken = {a.user_id for a in assigned}
    staff = assignments.assignable_staff(vault, actor.ctx, case_id)  # empty unless one may assign
    return page(
        request,
        "workflow_assignment.html",
        actor=actor,
        case=view,
        reference=reference_of(case_id),
        assignees=assigned,
        candidates=[s for s in staff if s.user_id not in taken],
        may_assign=bool(staff),
        errors=errors or {},
        status_code=status_code,
    )


@router.get("/zaken/{case_id}/toewijzing")
def assignment_form(request: Request, case_id: CaseId, vault: VaultDep, actor: WebUser) -> HTMLResponse:
    return _assignment_page(request, vault, actor, case_id)


@router.post("/zaken/{case_id}/toewijzing")
def assign(request: Request, case_id: CaseId, vault: VaultDep, form: VerifiedForm) -> Response:
    """Assign a staff member (the team leader of the case's team decides; audited)."""
    actor = form.user
    user_id = form.text("user_id", limit=36)
    candidates = {s.user_id for s in assignments.assignable_staff(vault, actor.ctx, case_id)}
    errors: Errors = {}
    if user_id not in candidates:
        errors["user_id"] = "Kies een medewerker van het team."
    else:
        try:
            assignments.assign_case(vault, actor.ctx, case_id, user_id)
        except Conflict:  # nothing changed (audited as a refusal, no assignment entry)
            errors["user_id"] = "Deze medewerker is al aan de zaak toegewezen."
        except (InvalidInput, NotFound):
            errors["user_id"] = "Alleen een actieve medewerker van Veilig Thuis kan worden toegewezen."
    if errors:
        return _assignment_page(request, vault, actor, case_id, errors=errors, status_code=400)
    return see_other(f"/zaken/{case_id}/toewijzing", notice="toegewezen")


@router.post("/zaken/{case_id}/toewijzing/{user_id}/beeindigen")
def unassign(case_id: CaseId, user_id: ObjectId, vault: VaultDep, form: VerifiedForm) -> Response:
    """End an assignment; takes effect at once (audited). One that does not exist is refused by the
    service (``Conflict``: the 409 page), and no ending is recorded."""
    assignments.unassign_case(vault, form.user.ctx, case_id, user_id)
    return see_other(f"/zaken/{case_id}/toewijzing", notice="toewijzing-beeindigd")


# --- Retention (D11, D12) --------------------------------------------------------------------------


def _retention_page(
    request: Request,
    vault: Vault,
    actor: WebActor,
    case_id: str,
    *,
    values: dict[str, str] | None = None,
    errors: Errors | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    _staff_only(actor)
    view = view_case(vault, actor.ctx, case_id)
    # D12: the hold's date only (the gate was passed above); the lift form is a preview of the policy
    # (no audit): the service decides again when the form is sent.
    hold = legal_hold.hold_on(vault, case_id, actor.ctx.now())
    may_lift = hold is not None and would_allow(vault, actor.ctx, GateRequest(case_id, Action.ADMINISTER))
    return page(
        request,
        "workflow_retention.html",
        actor=actor,
        case=view,
        reference=reference_of(case_id),
        kept=retention.retention_of(vault, actor.ctx, case_id),
        reasons=RETENTION_REASONS,
        hold=hold,
        may_lift=may_lift,
        lift_reasons=HOLD_LIFT_REASONS,
        values=values or {},
        errors=errors or {},
        status_code=status_code,
    )


@router.get("/zaken/{case_id}/bewaartermijn")
def retention_form(request: Request, case_id: CaseId, vault: VaultDep, actor: WebUser) -> HTMLResponse:
    return _retention_page(request, vault, actor, case_id)


def _refuse_unless_may_administer(
    vault: Vault, actor: WebActor, case_id: str, tag: AuditTag = AuditTag.RIGHTS_RETENTION_EXTENDED
) -> None:
    """D11, D12: who may extend the retention or lift a hold is decided before the form is read. Not
    staff: the refusal page of the GET; staff the policy does not allow (a medewerker, another team's
    leader): the gate's own refusal (audited under ``tag``, 403, or 404/410 for a case that is not
    there), and nothing is written."""
    _staff_only(actor)
    req = GateRequest(case_id, Action.ADMINISTER)
    if would_allow(vault, actor.ctx, req):
        return

    def never(_session: object, _admission: object) -> None:  # allowed after all, a moment later
        raise RuleRefused(Forbidden("retention change refused"), "d11-retention-not-allowed")

    pass_gate(
        vault,
        actor.ctx,
        req,
        tag=tag,
        object_type="case",
        object_id=case_id,
        then=never,
    )


@router.post("/zaken/{case_id}/bewaartermijn")
def extend_retention(request: Request, case_id: CaseId, vault: VaultDep, form: VerifiedForm) -> Response:
    """D11: keep the case longer, with a reason from the fixed list (the team leader decides; audited).
    The permission comes first: a refusal never tells how the form was filled in."""
    actor = form.user
    _refuse_unless_may_administer(vault, actor, case_id)
    values = {"until": form.day("until"), "reason": form.text("reason", limit=40)}
    errors: Errors = {}
    if values["reason"] not in RETENTION_REASONS:
        errors["reason"] = "Kies de reden om de zaak langer te bewaren."
    try:
        day = parse_day(values["until"])
        if day is None:
            errors["until"] = "Vul de nieuwe vernietigingsdatum in als dd-mm-jjjj."
    except InvalidInput:
        day = None
        errors["until"] = "Vul een datum in als dd-mm-jjjj, bijvoorbeeld 01-01-2050."
    if not errors and day is not None:
        until = datetime.combine(day, time(0, 0), tzinfo=AMSTERDAM)
        try:
            retention.extend_retention(
                vault, actor.ctx, case_id, until=until, reason=retention.ExtensionReason(values["reason"])
            )
        except InvalidInput as refused:
            errors["until"] = {
                "retention-too-long": "Eén verlenging voegt hoogstens 20 jaar toe.",
                "d12-hold-in-the-past": "Een blokkade loopt ten minste tot morgen: kies een latere datum.",
            }.get(refused.rule or "", "De nieuwe datum moet na de huidige vernietigingsdatum liggen.")
    if errors:
        return _retention_page(request, vault, actor, case_id, values=values, errors=errors, status_code=400)
    return see_other(f"/zaken/{case_id}", notice="bewaartermijn-verlengd")


@router.post("/zaken/{case_id}/bewaartermijn/opheffen")
def lift_legal_hold(request: Request, case_id: CaseId, vault: VaultDep, form: VerifiedForm) -> Response:
    """D12: lift the case's legal hold before its date, with a reason code from the fixed list (the
    roles that place a hold; the service audits ``rights:legal-hold:lifted``). The permission comes
    first, as for an extension; a hold lifted already (a second submit) is refused and changes nothing."""
    actor = form.user
    _refuse_unless_may_administer(vault, actor, case_id, AuditTag.RIGHTS_LEGAL_HOLD_LIFTED)
    code = form.text("lift_reason", limit=40)
    errors: Errors = {}
    if code not in HOLD_LIFT_REASONS:
        errors["lift_reason"] = HOLD_LIFT_REFUSALS["no-reason"]
        status_code = 400
    else:
        try:
            legal_hold.lift_legal_hold(vault, actor.ctx, case_id, reason=legal_hold.LiftReason(code))
        except Conflict as refused:
            if refused.rule != legal_hold.NO_HOLD:
                raise
            errors["lift"] = HOLD_LIFT_REFUSALS["no-hold"]
            status_code = 409
    if errors:
        values = {"lift_reason": code}
        return _retention_page(
            request, vault, actor, case_id, values=values, errors=errors, status_code=status_code
        )
    return see_other(f"/zaken/{case_id}/bewaartermijn", notice="blokkade-opgeheven")
