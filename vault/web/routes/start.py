"""The start page: my cases, triage due and overdue, monitoring due (D5, D7); the person lookup (D19)."""

from __future__ import annotations

from datetime import date, datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response

from vault.domain import Role, reference_of
from vault.errors import InvalidInput, RateLimited
from vault.http.deps import VaultDep
from vault.services import caseload, lookup, worklists
from vault.services.calendar import MONITORING_LOOK_AHEAD_DAYS
from vault.services.person_fields import PersonFields
from vault.web.csrf import VerifiedForm
from vault.web.render import STAFF, home_for, page, see_other
from vault.web.routes import workflow
from vault.web.routes.caseload import list_values, page_number
from vault.web.session import WebActor, WebUser

router = APIRouter(include_in_schema=False)

_TOO_MANY_LOOKUPS = (
    "U heeft in korte tijd veel personen opgezocht. Probeer het later opnieuw. Deze weigering is vastgelegd."
)


def _start(
    request: Request,
    vault: VaultDep,
    actor: WebActor,
    *,
    hits: list[lookup.LookupHit] | None = None,
    lookup_errors: dict[str, str] | None = None,
    lookup_values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    if actor.role not in STAFF and actor.role != Role.PROFESSIONAL:
        if home_for(actor.role) != "/":
            return see_other(home_for(actor.role))
        return page(request, "start_other.html", actor=actor)
    staff = actor.role in STAFF
    return page(
        request,
        "start.html",
        actor=actor,
        my_cases=caseload.my_case_list(vault, actor.ctx, page=page_number(request, "zaken")),
        triage=worklists.triage_due(vault, actor.ctx) if staff else [],
        monitoring=worklists.monitoring_due(vault, actor.ctx, within_days=MONITORING_LOOK_AHEAD_DAYS)
        if staff
        else [],
        investigations=worklists.investigations_overdue(vault, actor.ctx) if staff else [],
        staff=staff,
        **(workflow.start_values(vault, actor) if staff else {}),
        hits=hits,
        lookup_errors=lookup_errors or {},
        lookup_values=lookup_values or {},
        zaaknummer=reference_of,
        status_code=status_code,
        **list_values(),
    )


def _typed_date(text: str) -> date:
    """A typed date: dd-mm-jjjj, or the ISO value of the browser's date input."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        return datetime.strptime(text, "%d-%m-%Y").date()


@router.get("/")
def start(request: Request, vault: VaultDep, actor: WebUser) -> Response:
    return _start(request, vault, actor)


def _lookup_errors(bsn: str, name: str, born_text: str) -> tuple[dict[str, str], date | None]:
    """Each field's own problem, named by its field (D19: by BSN, or by name and date of birth)."""
    errors: dict[str, str] = {}
    born: date | None = None
    if born_text:
        try:
            born = _typed_date(born_text)
        except ValueError:
            errors["date_of_birth"] = "Vul een geldige geboortedatum in (dd-mm-jjjj)."
    if bsn:
        try:
            PersonFields(bsn=bsn).checked()
        except InvalidInput:
            errors["bsn"] = "Een BSN heeft 9 cijfers en voldoet aan de elfproef."
    elif name and not born_text:
        errors["date_of_birth"] = "Vul ook de geboortedatum in, of zoek op BSN."
    elif born_text and not name:
        errors["name"] = "Vul ook de naam in, of zoek op BSN."
    elif not name:
        errors["bsn"] = "Vul een BSN in, of naam én geboortedatum."
    if name and "name" not in errors:
        try:
            PersonFields(name=name).checked()
        except InvalidInput:
            errors["name"] = "Vul een naam in met letters, ten hoogste 200 tekens."
    return errors, born


@router.post("/zoeken")
def person_lookup(request: Request, vault: VaultDep, form: VerifiedForm) -> Response:
    """D19: was this person known before? By POST, so no BSN or name ever lands in a URL or log. A
    refusal (400) shows the form again with what was typed and the reason beside its field."""
    actor = form.user
    values = {
        "bsn": form.text("bsn", limit=20),
        "name": form.text("name", limit=200),
        "date_of_birth": form.day("date_of_birth"),
    }
    errors, born = _lookup_errors(values["bsn"], values["name"], values["date_of_birth"])
    if not errors:
        try:
            hits = lookup.lookup_person(
                vault, actor.ctx, bsn=values["bsn"] or None, name=values["name"] or None, date_of_birth=born
            )
        except InvalidInput:
            errors = {"bsn": "Zoek op BSN, of op naam én geboortedatum."}
        except RateLimited as refused:
            # D19: too many lookups in a short time; refused before anything was looked up.
            response = _start(
                request,
                vault,
                actor,
                lookup_errors={"bsn": _TOO_MANY_LOOKUPS},
                lookup_values=values,
                status_code=429,
            )
            response.headers["Retry-After"] = str(refused.retry_after)
            return response
        else:
            return _start(request, vault, actor, hits=hits)
    return _start(request, vault, actor, lookup_errors=errors, lookup_values=values, status_code=400)
