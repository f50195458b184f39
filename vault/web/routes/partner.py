"""The partner's inbox: what was disclosed to their organisation and is still live (ids, categories)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from vault.api.deps import VaultDep
from vault.services import disclosures
from vault.web.render import page
from vault.web.session import WebUser

router = APIRouter(include_in_schema=False)


@router.get("/partner")
def inbox(request: Request, vault: VaultDep, actor: WebUser) -> HTMLResponse:
    items = disclosures.partner_inbox(vault, actor.ctx)
    return page(request, "partner.html", actor=actor, items=items)
