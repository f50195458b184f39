"""The case page is assembled from panels: each area of case work adds its own values for its own
part of ``case.html`` (``templates/case/_*.html``), so the areas stay in their own modules.

A panel gets the request, the vault, the signed-in actor, the case as the gate showed it
(``view_case``) and whether this is a break-the-glass (read-only) view; it returns the template values
its partial needs. A panel reads only through services, which decide and audit as they do for the API.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request

from vault.runtime import Vault
from vault.services.case_view import CaseView
from vault.web.session import WebActor

__all__ = ["Panel", "PanelValues", "collect"]

PanelValues = dict[str, Any]
Panel = Callable[[Request, Vault, WebActor, CaseView, bool], PanelValues]


def collect(
    panels: tuple[Panel, ...],
    request: Request,
    vault: Vault,
    actor: WebActor,
    view: CaseView,
    break_glass: bool,
) -> PanelValues:
    """Every panel's values; two panels giving the same name is a programming error."""
    values: PanelValues = {}
    for panel in panels:
        for name, value in panel(request, vault, actor, view, break_glass).items():
            if name in values:
                raise RuntimeError(f"two case panels both set {name!r}")
            values[name] = value
    return values
