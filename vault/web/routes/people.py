"""People and consent on the case page: subjects added and corrected (D2, D3), the consents' panel
(the consent form is ``vault.web.routes.consents``), the reporter's identity shown on demand and its
consent or release (D8).

Every rule lives in the services (``vault.services.subjects``, ``vault.services.consents``); these
pages parse the form, call the service, and after a refusal show the form again with what was typed
and the one reason, on its field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response

from vault.domain import Action, CaseKind, Category, Role, reference_of
from vault.errors import Conflict, Forbidden, InvalidInput, NotFound, StepUpRequired
from vault.http.deps import VaultDep
from vault.http.params import UUID_PATTERN, CaseId
from vault.runtime import Vault
from vault.services import subjects
from vault.services.calendar import local_date
from vault.services.case_view import CaseView, SubjectView, read_reporter_identity, read_subjects, view_case
from vault.services.directory import organisation_names
from vault.services.gate import GateRequest, would_allow
from vault.services.person_fields import ConsentScope, PersonFields, Relation
from vault.web.csrf import VerifiedForm, WebForm
from vault.web.fg_reports import parse_day
from vault.web.render import page, see_other
from vault.web.routes.panels import PanelValues
from vault.web.session import WebActor, WebUser

__all__ = ["CONSENT_SCOPES", "dutch_birth_date", "masked_bsn", "panel", "router"]

router = APIRouter(include_in_schema=False)

ObjectId = Annotated[str, Path(pattern=UUID_PATTERN, max_length=36)]

CONSENT_SCOPES = {
    str(ConsentScope.REGISTER_PERSONAL_DATA): "Persoonsgegevens vastleggen",
    str(ConsentScope.SHARE_WITH_PARTNER): "Delen met een ketenpartner",
}
_PERSON_FIELDS = ("name", "date_of_birth", "bsn", "address")
_FIELD_ERRORS = {
    "name": "Vul een naam in van hoogstens 255 tekens.",
    "date_of_birth": "Vul de geboortedatum in als dd-mm-jjjj, bijvoorbeeld 01-03-2015.",
    "bsn": "Dit is geen geldig BSN: een BSN heeft 9 cijfers en voldoet aan de elfproef.",
    "address": "Vul een adres in van hoogstens 255 tekens.",
    "relation": "Kies de rol van deze persoon in de zaak.",
}
_D2 = (
    "Bij een adviesvraag van een hulpvrager legt u naam, geboortedatum, BSN of adres alleen vast met "
    "toestemming van de hulpvrager (D2). Kies de vastgelegde toestemming, of leg die eerst vast."
)
_TWICE = (
    "Deze persoon staat al bij deze zaak (hetzelfde BSN, of dezelfde naam en geboortedatum). Controleer "
    "de betrokkenen op de zaakpagina; een correctie doet u daar met Corrigeren."
)
_D3 = (
    "Bij een adviesvraag van een professional staat de cliënt alleen onder een pseudoniem in het "
    "dossier (D3); personen voegt u hier niet toe."
)


def dutch_birth_date(value: str | None) -> str | None:
    """A stored birth date (ISO) as people write it: dd-mm-jjjj."""
    if not value:
        return None
    year, month, day = value.split("-")
    return f"{day}-{month}-{year}"


def masked_bsn(value: str | None) -> str | None:
    """A BSN as the case page shows it: its last three digits only ("••••••333"). The whole number is
    needed only to correct it (the correction form); every reader of the case, a break-the-glass reader
    too, sees the table (review session 18)."""
    if not value:
        return None
    return "\u2022" * (len(value) - 3) + value[-3:]


def panel(request: Request, vault: Vault, actor: WebActor, view: CaseView, break_glass: bool) -> PanelValues:
    """The people values of ``templates/case/_head.html`` and ``_people.html`` (prefixed ``people_``).

    The reporter's identity is never read here: the page offers "Melder tonen" instead (D8)."""
    recipients = organisation_names(vault, [c.recipient_org_id for c in view.consents])
    # D9, D13: the child a consent names, as the table of subjects and the consent form show it
    names = {s.subject_id: s.name or f"Kind {n}" for n, s in enumerate(view.subjects or [], start=1)}
    return {
        "people_reference": reference_of(view.case_id),
        "people_subjects": [
            {"view": s, "born": dutch_birth_date(s.date_of_birth), "bsn": masked_bsn(s.bsn)}
            for s in (view.subjects or [])
        ],
        "people_consents": [
            {
                "entry": c,
                "scope": CONSENT_SCOPES.get(c.scope, c.scope),
                "recipient": recipients.get(c.recipient_org_id or ""),
                "child": names.get(c.subject_id or ""),
            }
            for c in view.consents
        ],
        "people_actions": not break_glass and Role(actor.role).is_staff,  # D3/D9: consents are staff's
        "people_reporter_readable": view.has_reporter
        and not break_glass
        and would_allow(
            vault, actor.ctx, GateRequest(view.case_id, Action.READ, category=Category.REPORTER_IDENTITY)
        ),
    }


def _require_step_up(vault: VaultDep, actor: WebActor) -> None:
    # Ask for the code before the form is filled in; the service refuses without it anyway.
    if not actor.ctx.stepped_up_within(vault.settings.step_up_minutes):
        raise StepUpRequired("a decision about the reporter's identity needs a recent second-factor check")


def _back(case_id: str, anchor: str, notice: str) -> Response:
    """To the case page's section, with a confirmation (the fragment after the query, not inside it)."""
    response = see_other(f"/zaken/{case_id}", notice=notice)
    response.headers["location"] += f"#{anchor}"
    return response


# --- subjects ---------------------------------------------------------------------------------------


@dataclass
class _SubjectForm:
    values: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    error_field: str | None = None


def _values_of(subject: SubjectView | None) -> dict[str, str]:
    if subject is None:
        return {"relation": ""}
    return {
        "relation": subject.relation,
        "name": subject.name or "",
        "date_of_birth": dutch_birth_date(subject.date_of_birth) or "",
        "bsn": subject.bsn or "",
        "address": subject.address or "",
    }


def _subject_page(
    request: Request,
    vault: VaultDep,
    actor: WebActor,
    view: CaseView,
    form: _SubjectForm,
    *,
    subject_id: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    register = [
        c for c in view.consents if c.scope == ConsentScope.REGISTER_PERSONAL_DATA and c.withdrawn_at is None
    ]
    return page(
        request,
        "subject_form.html",
        actor=actor,
        case_id=view.case_id,
        reference=reference_of(view.case_id),
        subject_id=subject_id,
        relations=list(Relation),
        help_seeker_advice=view.kind == CaseKind.ADVICE_HELP_SEEKER,
        register_consents=register,
        values=form.values,
        error=form.error,
        error_field=form.error_field,
        status_code=status_code,
    )


# What is kept of a typed value: more than any valid one, so a longer value is refused by the checks
# (255 printable characters, a BSN's nine digits, a day) instead of being cut to look valid.
_TYPED = 2100


def _typed(form: WebForm) -> dict[str, str]:
    limits = {"relation": 32, "name": _TYPED, "bsn": _TYPED, "address": _TYPED, "consent_id": 36}
    return {
        **{name: form.text(name, limit=limit) for name, limit in limits.items()},
        "date_of_birth": form.day("date_of_birth"),
    }


def _parse_person(values: dict[str, str], today: date) -> tuple[Relation, PersonFields]:
    """The typed person, each field checked on its own so a refusal names the one field; raises
    ``_FieldError``. ``today``: the Dutch date of the vault's clock (no birth after it, as on opening)."""
    try:
        relation = Relation(values["relation"])
    except ValueError:
        raise _FieldError("relation") from None
    try:
        born = parse_day(values["date_of_birth"])
    except InvalidInput:
        raise _FieldError("date_of_birth") from None
    if born is not None and born > today:
        raise _FieldError("date_of_birth", "De geboortedatum ligt in de toekomst.")
    if born is not None and born.year < 1900:
        raise _FieldError("date_of_birth", "Deze geboortedatum ligt voor 1900; controleer het jaar.")
    fields = PersonFields(
        name=values["name"] or None,
        bsn=values["bsn"] or None,
        date_of_birth=born,
        address=values["address"] or None,
    )
    for name in _PERSON_FIELDS:
        try:
            PersonFields(**{name: getattr(fields, name)}).checked()
        except InvalidInput:
            raise _FieldError(name) from None
    return relation, fields


class _FieldError(Exception):
    def __init__(self, field_name: str, message: str | None = None) -> None:
        super().__init__(field_name)
        self.field_name = field_name
        self.message = message or _FIELD_ERRORS[field_name]


def _save_subject(
    request: Request, vault: VaultDep, form: WebForm, case_id: str, subject_id: str | None
) -> Response:
    actor = form.user
    typed = _typed(form)
    lapsed = 0
    try:
        relation, fields = _parse_person(typed, local_date(actor.ctx.now()))
        if subject_id is None:
            subjects.add_subject(
                vault,
                actor.ctx,
                case_id,
                relation=relation,
                fields=fields,
                consent_id=typed["consent_id"] or None,
            )
        else:
            lapsed = subjects.correct_subject(
                vault,
                actor.ctx,
                case_id,
                subject_id,
                relation=relation,
                fields=fields,
                consent_id=typed["consent_id"] or None,
            )
    except _FieldError as wrong:
        failed = _SubjectForm(typed, wrong.message, wrong.field_name)
        return _subject_page(
            request,
            vault,
            actor,
            view_case(vault, actor.ctx, case_id),
            failed,
            subject_id=subject_id,
            status_code=400,
        )
    except Conflict as refused:
        if refused.rule != subjects.SUBJECT_TWICE:
            raise
        failed = _SubjectForm(typed, _TWICE, "bsn" if fields.bsn else "name")
        return _subject_page(
            request,
            vault,
            actor,
            view_case(vault, actor.ctx, case_id),
            failed,
            subject_id=subject_id,
            status_code=409,
        )
    except subjects.ConsentRequired:
        failed = _SubjectForm(typed, _D2, "consent_id")
        return _subject_page(
            request,
            vault,
            actor,
            view_case(vault, actor.ctx, case_id),
            failed,
            subject_id=subject_id,
            status_code=403,
        )
    except Forbidden as refused:
        if refused.rule != "d3-pseudonym-only":
            raise
        failed = _SubjectForm(typed, _D3, None)
        return _subject_page(
            request,
            vault,
            actor,
            view_case(vault, actor.ctx, case_id),
            failed,
            subject_id=subject_id,
            status_code=403,
        )
    if lapsed:  # D9, D13: the child's consent to share lapsed with the correction
        return _back(case_id, "toestemmingen", "toestemming-kind-vervallen")
    notice = "betrokkene-toegevoegd" if subject_id is None else "betrokkene-gecorrigeerd"
    return _back(case_id, "betrokkenen", notice)


@router.get("/zaken/{case_id}/betrokkenen/nieuw")
def subject_new(request: Request, case_id: CaseId, vault: VaultDep, actor: WebUser) -> HTMLResponse:
    return _subject_page(request, vault, actor, view_case(vault, actor.ctx, case_id), _SubjectForm())


@router.post("/zaken/{case_id}/betrokkenen")
def subject_add(request: Request, case_id: CaseId, vault: VaultDep, form: VerifiedForm) -> Response:
    return _save_subject(request, vault, form, case_id, None)


@router.get("/zaken/{case_id}/betrokkenen/{subject_id}/corrigeren")
def subject_edit(
    request: Request, case_id: CaseId, subject_id: ObjectId, vault: VaultDep, actor: WebUser
) -> HTMLResponse:
    view = view_case(vault, actor.ctx, case_id)
    found = [s for s in read_subjects(vault, actor.ctx, case_id) if s.subject_id == subject_id]
    if not found:
        raise NotFound("no such subject")
    return _subject_page(
        request, vault, actor, view, _SubjectForm(_values_of(found[0])), subject_id=subject_id
    )


@router.post("/zaken/{case_id}/betrokkenen/{subject_id}/corrigeren")
def subject_correct(
    request: Request, case_id: CaseId, subject_id: ObjectId, vault: VaultDep, form: VerifiedForm
) -> Response:
    return _save_subject(request, vault, form, case_id, subject_id)


# --- the reporter (D8) ------------------------------------------------------------------------------


@router.post("/zaken/{case_id}/melder")
def reporter_reveal(request: Request, case_id: CaseId, vault: VaultDep, form: VerifiedForm) -> HTMLResponse:
    """D8: the reporter's identity on demand ("Melder tonen"): its own audited read, never by default."""
    actor = form.user
    reporter = read_reporter_identity(vault, actor.ctx, case_id)
    if reporter is None:
        raise NotFound("this case has no recorded reporter")
    return page(
        request,
        "reporter_identity.html",
        actor=actor,
        case_id=case_id,
        reference=reference_of(case_id),
        reporter=reporter,
    )


def _reporter_confirm(
    request: Request,
    vault: VaultDep,
    actor: WebActor,
    case_id: str,
    template: str,
    *,
    step_up: bool,
    **values: Any,
) -> HTMLResponse:
    if step_up:  # asked before the form, as the service will demand it when the form is sent
        _require_step_up(vault, actor)
    view_case(vault, actor.ctx, case_id)  # audited read of the case the confirmation is about
    return page(request, template, actor=actor, case_id=case_id, reference=reference_of(case_id), **values)


@router.get("/zaken/{case_id}/melder/toestemming")
def reporter_consent_confirm(
    request: Request, case_id: CaseId, vault: VaultDep, actor: WebUser
) -> HTMLResponse:
    # Recording a consent the reporter gave needs no step-up, here as in the API (as any consent).
    return _reporter_confirm(request, vault, actor, case_id, "reporter_consent.html", step_up=False)


@router.post("/zaken/{case_id}/melder/toestemming")
def reporter_consent(case_id: CaseId, vault: VaultDep, form: VerifiedForm) -> Response:
    """D8: the reporter agreed that their identity may be disclosed (after a confirmation)."""
    subjects.record_reporter_consent(vault, form.user.ctx, case_id)
    return _back(case_id, "melder", "melder-toestemming")


@router.get("/zaken/{case_id}/melder/vrijgeven")
def reporter_release_confirm(
    request: Request, case_id: CaseId, vault: VaultDep, actor: WebUser
) -> HTMLResponse:
    return _reporter_confirm(
        request, vault, actor, case_id, "reporter_release.html", step_up=True, reason="", error=None
    )


@router.post("/zaken/{case_id}/melder/vrijgeven")
def reporter_release(request: Request, case_id: CaseId, vault: VaultDep, form: VerifiedForm) -> Response:
    """D8: release a professional reporter's identity, with a reason (step-up, after confirmation)."""
    actor = form.user
    _require_step_up(vault, actor)
    reason = form.text("reason", limit=1001)
    error = None
    try:
        subjects.release_professional_reporter(vault, actor.ctx, case_id, reason=reason)
    except InvalidInput:
        error = "Schrijf een reden van 10 tot 1000 tekens."
    except Forbidden as refused:
        if refused.rule != "d8-consent-only":
            raise
        error = (
            "De identiteit van een melder die geen professional is, geeft u alleen vrij met diens eigen "
            "toestemming (D8). Leg die toestemming vast in plaats van een vrijgave."
        )
    if error is not None:
        return _reporter_confirm(
            request,
            vault,
            actor,
            case_id,
            "reporter_release.html",
            step_up=True,
            reason=reason,
            error=error,
            status_code=400,
        )
    return _back(case_id, "melder", "melder-vrijgegeven")
