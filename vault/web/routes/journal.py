"""Journal notes (aantekeningen) on a case, encrypted under the case key like documents."""

from __future__ import annotations

from fastapi import APIRouter, Request

from vault.runtime import Vault
from vault.services.case_view import CaseView
from vault.web.routes.panels import PanelValues
from vault.web.session import WebActor

router = APIRouter(include_in_schema=False)


def panel(request: Request, vault: Vault, actor: WebActor, view: CaseView, break_glass: bool) -> PanelValues:
    """The values of ``templates/case/_journal.html``."""
    return {}
