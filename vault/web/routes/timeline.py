"""The case timeline on the case page: reads grouped, filters by kind and person, paging — all GET
query parameters of the case page (``?tijdlijn=2&soort=inzage&persoon=…#tijdlijn``), so no route
of its own. The rules (who sees which entries, and whose names) are the service's
(``vault.services.timeline``)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from vault import labels
from vault.runtime import Vault
from vault.services import timeline
from vault.services.case_view import CaseView, sees_oversight
from vault.web.routes.caseload import page_number
from vault.web.routes.panels import PanelValues
from vault.web.session import WebActor

router = APIRouter(include_in_schema=False)

_MAX_ID = 64


def panel(request: Request, vault: Vault, actor: WebActor, view: CaseView, break_glass: bool) -> PanelValues:
    """The values of ``templates/case/_timeline.html``."""
    oversight = sees_oversight(actor.ctx)
    kinds = {
        k: v for k, v in labels.TIMELINE_KINDS.items() if oversight or k != timeline.TimelineKind.OVERSIGHT
    }
    values: PanelValues = {
        "timeline_kinds": kinds,
        "timeline_kind_label": lambda c: labels.label(labels.TIMELINE_KINDS, c),
    }
    if break_glass:
        # Read under the justification with the case itself; no filters (they would be new reads).
        return {
            **values,
            "timeline": None,
            "timeline_lines": timeline.group_view_entries(view.timeline),
            "timeline_cut": view.timeline_truncated,  # D20: the newest entries only
        }
    query = request.query_params
    kind = query.get("soort", "")
    found = timeline.case_timeline(
        vault,
        actor.ctx,
        view.case_id,
        page=page_number(request, "tijdlijn"),
        kind=kind if kind in kinds else None,
        person=query.get("persoon", "")[:_MAX_ID] or None,
    )
    return {**values, "timeline": found, "timeline_lines": found.lines}
