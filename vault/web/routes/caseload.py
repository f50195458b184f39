"""Finding cases and the team's caseload: the search box "Zaak zoeken op zaaknummer" (GET /zaken;
the reference is not personal data) and the team leader's page /team. The rules are the
services' (``vault.services.caseload``); the team page is refused there for any other role."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from vault import labels
from vault.http.deps import VaultDep
from vault.services import caseload
from vault.web.references import resolve_case
from vault.web.render import page, see_other
from vault.web.session import WebUser

router = APIRouter(include_in_schema=False)

__all__ = ["list_values", "page_number", "router"]


def page_number(request: Request, name: str) -> int:
    """A page number from the query (``?zaken=2``); anything else is page 1 (never a 422)."""
    text = request.query_params.get(name, "")
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 6 else 1


def list_values() -> dict[str, Any]:
    """The label helpers of ``templates/_case_list.html``."""
    return {
        "zaakstatus": lambda c: labels.label(labels.CASE_STATUSES, c),
        "termijn": lambda c: labels.label(labels.DEADLINES, c),
    }


@router.get("/zaken")
def find_case(request: Request, vault: VaultDep, actor: WebUser) -> Response:
    """The start page's search box: a reference resolves to the case, or offers the matches."""
    typed = request.query_params.get("zaaknummer", "").strip()
    if not typed:
        return see_other("/")
    found = resolve_case(request, vault, actor, typed)
    if isinstance(found, Response):
        return found
    return see_other(f"/zaken/{found}")


@router.get("/team")
def team(request: Request, vault: VaultDep, actor: WebUser) -> Response:
    """The team leader's caseload (403 for anyone else, decided and audited by the service)."""
    load = caseload.team_caseload(vault, actor.ctx, page=page_number(request, "pagina"))
    return page(request, "caseload.html", actor=actor, load=load, **list_values())
