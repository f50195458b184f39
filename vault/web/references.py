"""Case references in URLs and search boxes: the reference people quote (VT-XXXX-XXXX), its start
(at least 4 characters) or a full case id resolves to the case; several matches are offered to
choose from; none gives a Dutch 404 page — never a 422 or a 500.

Only cases the actor may list are offered (``caseload.find_by_reference``: the work lists' scope,
audited). A full case id goes straight to the case page, where the gate decides (and a colleague
outside the team is offered break-the-glass). A role that lists no cases gets the same 404 page.
"""

from __future__ import annotations

import re

from fastapi import Request
from fastapi.responses import Response

from vault.errors import Forbidden, InvalidInput
from vault.runtime import Vault
from vault.services import caseload
from vault.web.render import page
from vault.web.session import WebActor

__all__ = ["resolve_case"]

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_MAX_TYPED = 64


def resolve_case(request: Request, vault: Vault, actor: WebActor, reference: str) -> str | Response:
    """The case id ``reference`` names, or the page to show instead (matches to choose from, or
    the Dutch "not found" page)."""
    if _UUID.match(reference):
        return reference
    try:
        if len(reference) > _MAX_TYPED:
            raise InvalidInput("no case reference")
        matches = caseload.find_by_reference(vault, actor.ctx, reference)
    except (InvalidInput, Forbidden):
        matches = []
    if len(matches) == 1:
        return matches[0].case_id
    if matches:
        return page(request, "case_matches.html", actor=actor, matches=matches)
    return page(request, "case_not_found.html", actor=actor, status_code=404)
