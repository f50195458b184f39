"""The partner's pages: the inbox of live disclosures and the organisation's retrieval history.

A partner sees the case reference both sides quote (VT-XXXX-XXXX, D23), the title Veilig Thuis chose
for the partner when sharing (else the default "categorie – datum"), the purpose, validity, retrievals
left and the Veilig Thuis contact for the warm handover; each document by its category and place in
the list — never an internal title, an original file name (D22) or an id. A download is named
neutrally by the gate (``vault.services.file_names``) and a PDF carries its recipient
(``vault.services.watermark``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from vault.http.deps import VaultDep
from vault.labels import CATEGORIES, dutch_date, label
from vault.services import partner_view
from vault.web.public.routes import PHONE
from vault.web.render import page
from vault.web.session import WebUser

router = APIRouter(include_in_schema=False)


def default_title(categories: Iterable[str], when: datetime | None) -> str:
    """D22: the title a partner sees when staff typed none: the categories and the date, in Dutch."""
    names = ", ".join(label(CATEGORIES, c) for c in categories) or "Verstrekking"
    return f"{names} – {dutch_date(when)}" if when else names


@router.get("/partner")
def inbox(request: Request, vault: VaultDep, actor: WebUser) -> HTMLResponse:
    items = partner_view.partner_inbox(vault, actor.ctx)
    return page(
        request,
        "partner.html",
        actor=actor,
        items=items,
        standaardtitel=default_title,
        algemeen_nummer=PHONE,
    )


@router.get("/partner/geschiedenis")
def history(request: Request, vault: VaultDep, actor: WebUser) -> HTMLResponse:
    """The organisation's own retrievals (from the audit log; viewing it is audited too)."""
    entries = partner_view.retrieval_history(vault, actor.ctx)
    return page(
        request,
        "partner_history.html",
        actor=actor,
        history=entries,
        limit=partner_view.HISTORY_LIMIT,
        standaardtitel=default_title,
    )
