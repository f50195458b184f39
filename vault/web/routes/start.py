"""The start page: my cases, triage due and overdue, monitoring due (D5, D7); the person lookup (D19)."""

from __future__ import annotations

from datetime import date, datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response

from vault.domain import Role, reference_of
from vault.errors import InvalidInput
from vault.http.deps import VaultDep
from vault.services import caseload, lookup, worklists
from vault.web.csrf import VerifiedForm
from vault.web.render import STAFF, home_for, page, see_other
from vault.web.routes import workflow
from vault.web.routes.caseload import list_values, page_number
from vault.web.session import WebActor, WebUser

router = APIRouter(include_in_schema=False)


def _start(
    request: Request,
    vault: VaultDep,
    actor: WebActor,
    *,
    hits: list[lookup.LookupHit] | None = None,
    lookup_error: str | None = None,
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
        monitoring=worklists.monitoring_due(vault, actor.ctx, within_days=14) if staff else [],
        investigations=worklists.investigations_overdue(vault, actor.ctx) if staff else [],
        staff=staff,
        **(workflow.start_values(vault, actor) if staff else {}),
        hits=hits,
        lookup_error=lookup_error,
        zaaknummer=reference_of,
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


@router.post("/zoeken")
def person_lookup(request: Request, vault: VaultDep, form: VerifiedForm) -> Response:
    """D19: was this person known before? By POST, so no BSN or name ever lands in a URL or log."""
    actor = form.user
    bsn = form.text("bsn", limit=20) or None
    name = form.text("name", limit=200) or None
    born_text = form.text("date_of_birth", limit=10)
    try:
        born = _typed_date(born_text) if born_text else None
        hits = lookup.lookup_person(vault, actor.ctx, bsn=bsn, name=name, date_of_birth=born)
    except (ValueError, InvalidInput):
        return _start(
            request,
            vault,
            actor,
            lookup_error="Zoek op BSN, of op naam én geboortedatum (een geldig BSN voldoet aan de elfproef).",
        )
    return _start(request, vault, actor, hits=hits)
