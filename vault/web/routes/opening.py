"""Opening a case in the browser: a report taken by phone, advice to a help seeker (D2), advice to a
professional (D3); the triage deadline shown at once (D5).

The pages call the services the API calls (``vault.services.cases``: ``open_report``,
``open_help_seeker_advice``, ``open_professional_advice``; ``subjects.record_reporter_consent`` for
D8; ``vault.services.opening`` for the D3 links). This module only turns form fields into their
arguments and names, per field, why a value was refused. After opening: 303 to
``/zaken/{id}/geopend`` (reference, triage deadline, earlier advice), so a reload never opens twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from vault.domain import CaseKind, reference_of
from vault.errors import InvalidInput, NotFound, StepUpRequired
from vault.http.deps import VaultDep
from vault.http.params import CaseId
from vault.labels import RELATIONS
from vault.services import cases, lookup, opening, subjects
from vault.services.calendar import local_date
from vault.services.case_view import view_case
from vault.services.directory import usernames
from vault.services.person_fields import unfit_characters
from vault.services.subjects import PersonFields, Relation, ReporterFields
from vault.transaction import transaction
from vault.web.csrf import VerifiedForm, WebForm
from vault.web.fg_reports import parse_day
from vault.web.public.fields import MELDCODE_STEPS
from vault.web.render import page, see_other
from vault.web.session import WebActor, WebUser

router = APIRouter(include_in_schema=False)

PERSON_ROWS = 3  # without script a fixed number of rows; more people are added on the case page
_TYPED = 2100  # what is kept of a typed value (longer is refused by the checks, not cut silently)
_MAX_TEXT = 255  # the API's limit (cases_schemas.Text255)
_RELATIONS = [(r.value, RELATIONS[r.value]) for r in Relation if r is not Relation.HELP_SEEKER]

_BAD_NAME = "Een naam is ten hoogste 255 tekens, zonder tabs, regeleinden of onzichtbare tekens."
_BAD_DATE = "Vul de geboortedatum in als dd-mm-jjjj, bijvoorbeeld 03-11-2015."
_BAD_BSN = "Dit BSN klopt niet: een BSN heeft 9 cijfers en voldoet aan de elfproef. U mag het ook leeg laten."
_BAD_TEXT = "Ten hoogste 255 tekens, zonder tabs, regeleinden of onzichtbare tekens."


@dataclass
class Checked:
    """A form's values as typed (to show again) and the reason per refused field."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def typed(self, form: WebForm, name: str) -> str:
        self.values[name] = form.text(name, limit=_TYPED)
        return self.values[name]


def _text(c: Checked, form: WebForm, name: str, *, required: str | None = None) -> str | None:
    value = c.typed(form, name)
    if not value:
        if required:
            c.errors[name] = required
        return None
    if len(value) > _MAX_TEXT or unfit_characters(value):  # D8, D19: told at its own field
        c.errors[name] = _BAD_TEXT
        return None
    return value


def _name(c: Checked, form: WebForm, name: str) -> str | None:
    value = c.typed(form, name)
    if not value:
        return None
    try:
        PersonFields(name=value).checked()
    except InvalidInput:
        c.errors[name] = _BAD_NAME
        return None
    return value


def _birth(c: Checked, form: WebForm, name: str, today: date) -> date | None:
    value = c.typed(form, name)
    try:
        born = parse_day(value)
    except InvalidInput:
        c.errors[name] = _BAD_DATE
        return None
    if born is None:
        return None
    if born > today:
        c.errors[name] = "De geboortedatum ligt in de toekomst."
    elif born.year < 1900:
        c.errors[name] = "Deze geboortedatum ligt voor 1900; controleer het jaar."
    else:
        return born
    return None


def _bsn(c: Checked, form: WebForm, name: str) -> str | None:
    value = c.typed(form, name)
    if not value:
        return None
    try:
        PersonFields(bsn=value).checked()
    except InvalidInput:
        c.errors[name] = _BAD_BSN
        return None
    return value


def _choice(c: Checked, form: WebForm, name: str, allowed: set[str], message: str) -> str | None:
    value = c.typed(form, name)
    if value not in allowed:
        c.errors[name] = message
        return None
    return value


def _team(c: Checked, form: WebForm, choices: opening.OpeningChoices) -> str | None:
    return _choice(c, form, "team_id", {t.id for t in choices.teams}, "Kies het team dat de zaak krijgt.")


def _person(c: Checked, form: WebForm, row: int, today: date) -> tuple[Relation, PersonFields] | None:
    p = f"p{row}"
    relation = c.typed(form, f"{p}_relation")
    name = _name(c, form, f"{p}_name")
    born = _birth(c, form, f"{p}_dob", today)
    bsn = _bsn(c, form, f"{p}_bsn")
    address = _text(c, form, f"{p}_address")
    if not any(c.values[f"{p}_{k}"] for k in ("name", "dob", "bsn", "address")):
        return None
    if relation not in {v for v, _ in _RELATIONS}:
        c.errors[f"{p}_relation"] = "Kies hoe deze persoon bij de zaak betrokken is."
    if not c.values[f"{p}_name"]:
        c.errors[f"{p}_name"] = "Vul de naam van deze betrokkene in."
    if any(k.startswith(f"{p}_") for k in c.errors):
        return None
    return Relation(relation), PersonFields(name=name, bsn=bsn, date_of_birth=born, address=address)


def _choices(vault: VaultDep, actor: WebActor) -> opening.OpeningChoices:
    return opening.opening_choices(vault, actor.ctx)


def _form(
    request: Request,
    template: str,
    actor: WebActor,
    choices: opening.OpeningChoices,
    c: Checked | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    c = c or Checked()
    if "team_id" not in c.values and len(choices.teams) == 1:
        c.values["team_id"] = choices.teams[0].id
    return page(
        request,
        template,
        actor=actor,
        teams=choices.teams,
        professionals=choices.professionals,
        relations=_RELATIONS,
        rows=range(1, PERSON_ROWS + 1),
        meldcode_steps=MELDCODE_STEPS,
        values=c.values,
        errors=c.errors,
        status_code=status_code,
    )


@router.get("/zaken/nieuw")
def choose(request: Request, vault: VaultDep, actor: WebUser) -> HTMLResponse:
    _choices(vault, actor)  # staff only
    return page(request, "open_choice.html", actor=actor)


# --- a report taken by phone ---------------------------------------------------------------------


@router.get("/zaken/nieuw/melding")
def report_form(request: Request, vault: VaultDep, actor: WebUser) -> HTMLResponse:
    return _form(request, "open_report.html", actor, _choices(vault, actor))


@router.post("/zaken/nieuw/melding")
def open_report(request: Request, vault: VaultDep, form: VerifiedForm) -> Response:
    actor = form.user
    choices = _choices(vault, actor)
    c = Checked()
    team_id = _team(c, form, choices)
    kind = _choice(
        c,
        form,
        "reporter_kind",
        {"burger", "professional"},
        "Kies of de melder een burger of een professional is.",
    )
    name = _text(c, form, "reporter_name", required="Vul de naam van de melder in.")
    contact = _text(c, form, "reporter_contact")
    organisation = _text(c, form, "reporter_organisation")
    consent = c.typed(form, "reporter_consent") == "ja"
    today = local_date(actor.ctx.now())
    people = [p for p in (_person(c, form, row, today) for row in range(1, PERSON_ROWS + 1)) if p]
    if not people and not any(k.startswith("p") for k in c.errors):
        c.errors["p1_name"] = "Noem ten minste één betrokkene: de relatie en de naam."
    if c.errors or team_id is None or name is None:
        return _form(request, "open_report.html", actor, choices, c, status_code=400)
    reporter = ReporterFields(
        name=name,
        professional=kind == "professional",
        contact=contact,
        organisation=organisation if kind == "professional" else None,  # D8: a citizen has none
    )
    try:
        with transaction(vault.db) as session:
            case = cases.open_report(
                session, vault, actor.ctx, team_id=team_id, reporter=reporter, subjects=people
            )
            case_id = case.id
    except InvalidInput:
        c.errors["p1_name"] = "Deze gegevens zijn niet geaccepteerd; controleer de namen en data."
        return _form(request, "open_report.html", actor, choices, c, status_code=400)
    if consent:
        subjects.record_reporter_consent(vault, actor.ctx, case_id)
    return see_other(f"/zaken/{case_id}/geopend")


# --- advice to a help seeker (D2) ----------------------------------------------------------------


@router.get("/zaken/nieuw/advies-hulpvrager")
def help_seeker_form(request: Request, vault: VaultDep, actor: WebUser) -> HTMLResponse:
    return _form(request, "open_advice_help_seeker.html", actor, _choices(vault, actor))


@router.post("/zaken/nieuw/advies-hulpvrager")
def open_help_seeker_advice(request: Request, vault: VaultDep, form: VerifiedForm) -> Response:
    actor = form.user
    choices = _choices(vault, actor)
    c = Checked()
    team_id = _team(c, form, choices)
    if team_id is None:
        return _form(request, "open_advice_help_seeker.html", actor, choices, c, status_code=400)
    with transaction(vault.db) as session:
        case_id = cases.open_help_seeker_advice(session, vault, actor.ctx, team_id=team_id).id
    return see_other(f"/zaken/{case_id}/geopend")


# --- advice to a professional (D3) ---------------------------------------------------------------


@router.get("/zaken/nieuw/advies-professional")
def professional_form(request: Request, vault: VaultDep, actor: WebUser) -> HTMLResponse:
    return _form(request, "open_advice_professional.html", actor, _choices(vault, actor))


@router.post("/zaken/nieuw/advies-professional")
def open_professional_advice(request: Request, vault: VaultDep, form: VerifiedForm) -> Response:
    actor = form.user
    choices = _choices(vault, actor)
    c = Checked()
    team_id = _team(c, form, choices)
    professional_id = _choice(
        c,
        form,
        "professional_id",
        {p.id for p in choices.professionals},
        "Kies de professional die het advies vraagt.",
    )
    step = _choice(c, form, "meldcode_step", {v for v, _ in MELDCODE_STEPS}, "Kies de stap van de meldcode.")
    name = _name(c, form, "client_name")
    born = _birth(c, form, "client_dob", local_date(actor.ctx.now()))
    bsn = _bsn(c, form, "client_bsn")
    if not c.errors and name is not None and born is None and bsn is None:
        c.errors["client_dob"] = "Bij een naam hoort een geboortedatum (of geef het BSN, of laat alles leeg)."
    if not c.errors and born is not None and name is None and bsn is None:
        c.errors["client_name"] = (
            "Bij een geboortedatum hoort een naam (of geef het BSN, of laat alles leeg)."
        )
    if c.errors or team_id is None or professional_id is None or step is None:
        return _form(request, "open_advice_professional.html", actor, choices, c, status_code=400)
    client = PersonFields(name=name, bsn=bsn, date_of_birth=born)
    try:
        with transaction(vault.db) as session:
            case_id = cases.open_professional_advice(
                session,
                vault,
                actor.ctx,
                professional_id=professional_id,
                meldcode_step=int(step),
                team_id=team_id,
                client=client if client.identifying else None,
            ).id
    except NotFound:
        c.errors["professional_id"] = "Deze professional bestaat niet (meer); kies een ander account."
        return _form(request, "open_advice_professional.html", actor, choices, c, status_code=400)
    except InvalidInput:
        c.errors["client_name"] = "Geef het BSN van de cliënt, of naam én geboortedatum, of laat alles leeg."
        return _form(request, "open_advice_professional.html", actor, choices, c, status_code=400)
    return see_other(f"/zaken/{case_id}/geopend")


# --- after opening -------------------------------------------------------------------------------


@router.get("/zaken/{case_id}/geopend")
def opened(request: Request, case_id: CaseId, vault: VaultDep, actor: WebUser) -> HTMLResponse:
    """The reference to quote, the triage deadline (D5) and the links to earlier advice (D3)."""
    view = view_case(vault, actor.ctx, case_id)
    earlier = (
        opening.earlier_advice(vault, actor.ctx, case_id)
        if view.kind == CaseKind.ADVICE_PROFESSIONAL
        else opening.EarlierAdvice([], 0)
    )
    signal = opening.advice_signal(vault, actor.ctx, case_id) if view.kind == CaseKind.REPORT else 0
    return page(
        request,
        "open_done.html",
        actor=actor,
        view=view,
        reference=reference_of(case_id),
        professional=usernames(vault, [view.owner_id]).get(view.owner_id or "", ""),
        earlier=earlier.named,
        elsewhere=earlier.elsewhere,
        signal=signal,
        may_link=actor.role in lookup.REIDENTIFY_ROLES,
    )


# --- the team leader links a report to pseudonymised advice (D3, reason link_report) -----------------


def _require_step_up(vault: VaultDep, actor: WebActor) -> None:
    if not actor.ctx.stepped_up_within(vault.settings.step_up_minutes):
        raise StepUpRequired("re-identification needs a recent second-factor check")


def _link_page(
    request: Request,
    vault: VaultDep,
    actor: WebActor,
    case_id: str,
    *,
    c: Checked | None = None,
    hits: list[lookup.LookupHit] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    view = view_case(vault, actor.ctx, case_id)
    c = c or Checked()
    return page(
        request,
        "open_link_advice.html",
        actor=actor,
        view=view,
        reference=reference_of(case_id),
        may_link=actor.role in lookup.REIDENTIFY_ROLES,
        values=c.values,
        errors=c.errors,
        hits=hits,
        status_code=status_code,
    )


@router.get("/zaken/{case_id}/eerder-advies")
def link_form(request: Request, case_id: CaseId, vault: VaultDep, actor: WebUser) -> HTMLResponse:
    _require_step_up(vault, actor)
    return _link_page(request, vault, actor, case_id)


@router.post("/zaken/{case_id}/eerder-advies")
def link_advice(request: Request, case_id: CaseId, vault: VaultDep, form: VerifiedForm) -> HTMLResponse:
    """The answer is shown on the post itself (like the person lookup): nothing is stored but the
    re-identification record and its audit entries; a reload asks the browser to post again."""
    actor = form.user
    _require_step_up(vault, actor)
    c = Checked()
    explanation = c.typed(form, "explanation")
    try:
        hits = opening.link_report_to_advice(vault, actor.ctx, case_id, explanation=explanation)
    except InvalidInput:
        c.errors["explanation"] = "Licht in 10 tot 2000 tekens toe waarom u het eerdere advies koppelt."
        return _link_page(request, vault, actor, case_id, c=c, status_code=400)
    return _link_page(request, vault, actor, case_id, c=c, hits=hits)
