"""Herstelcodes (D17): how many of one's recovery codes are left, and a new set.

Recovery codes stand in for the authenticator app when the phone is not at hand; each works once. The
page tells how many are left (never which) and makes a new set of ten, which revokes every earlier
code (``authentication.regenerate_recovery_codes``: a fresh step-up first, so the form goes through the
"Bevestigen" page and comes back; audited ``auth:recovery:regenerated``). The new codes are shown once,
on the answer to the POST (no-store, as every page). An account without an active authenticator app
(passkeys only) has no codes to make: the page says so and offers no button (the service refuses too).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from vault.errors import Conflict
from vault.http.deps import VaultDep
from vault.services import authentication as authn
from vault.transaction import transaction
from vault.web.csrf import VerifiedForm
from vault.web.render import page
from vault.web.session import WebActor, WebUser

__all__ = ["PAGE", "router"]

router = APIRouter(include_in_schema=False)

PAGE = "/herstelcodes"


def _page(
    request: Request, vault: VaultDep, actor: WebActor, *, app_active: bool, status_code: int = 200
) -> HTMLResponse:
    with transaction(vault.db) as session:
        left = authn.recovery_codes_left(session, actor.info.user_id)
    return page(
        request,
        "recovery_codes_manage.html",
        actor=actor,
        left=left,
        app_active=app_active,
        status_code=status_code,
    )


@router.get(PAGE)
def recovery_codes_page(request: Request, vault: VaultDep, actor: WebUser) -> HTMLResponse:
    """How many recovery codes are left, and the button for a new set."""
    return _page(request, vault, actor, app_active=actor.info.factor_active)


@router.post(PAGE)
def new_recovery_codes(request: Request, vault: VaultDep, form: VerifiedForm) -> HTMLResponse:
    """A new set of ten (after a fresh step-up); every earlier code stops working. Shown once."""
    actor = form.user
    try:
        with transaction(vault.db) as session:
            codes = authn.regenerate_recovery_codes(session, actor.ctx, actor.auth, actor.info)
    except Conflict:  # no active authenticator app: the codes would never pass
        return _page(request, vault, actor, app_active=False, status_code=409)
    return page(request, "recovery_codes.html", actor=actor, codes=codes, next=PAGE)
