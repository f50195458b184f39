"""Case workflow pages: triage (D5, D6 handover with confirmation), investigation, monitoring (D7),
own motion (D4), assignment, retention (D11)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from vault.runtime import Vault
from vault.services.case_view import CaseView
from vault.web.routes.panels import PanelValues
from vault.web.session import WebActor

router = APIRouter(include_in_schema=False)


def panel(request: Request, vault: Vault, actor: WebActor, view: CaseView, break_glass: bool) -> PanelValues:
    """The values of ``templates/case/_workflow.html``."""
    return {}


def start_values(vault: Vault, actor: WebActor) -> PanelValues:
    """The values of ``templates/start/_workflow.html`` on the start page (e.g. approvals waiting)."""
    return {}
