"""Step-up (``/bevestigen``): a fresh second factor before a disclosure, break-the-glass, review or
export — a code, or a passkey (``routes.passkeys``). A role that needs a passkey is never stepped up
by a code; one that has no passkey left is told to sign in again and add one. The code field is offered
only with an active authenticator app (after a reset it is being set up again: the passkey confirms)."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from vault.errors import AuthFailed, Conflict, RateLimited
from vault.http.deps import AuthConfigDep, VaultDep
from vault.runtime import Vault
from vault.services.authentication.passkey_policy import (
    PASSKEY_MISSING,
    PASSKEY_REQUIRED,
    step_up_with_code,
)
from vault.services.authentication.passkeys import PasskeyConfig
from vault.transaction import transaction
from vault.web.csrf import FIELD, VerifiedForm
from vault.web.render import local_path, page, see_other
from vault.web.routes.auth import PASSKEY_REQUIRED_TEXT, WRONG_CODE
from vault.web.routes.passkeys import second_factor_choice
from vault.web.session import WebActor, WebUser, set_session_cookie

__all__ = ["CARRIED", "router", "step_up_prompt"]

router = APIRouter(include_in_schema=False)

_PASSKEY_MISSING = (
    "Voor uw rol is een passkey nodig, en u heeft er geen die werkt. Meld u af en meld u opnieuw aan "
    "met uw code: daarna voegt u eerst een passkey toe."
)
_NO_SECOND_FACTOR = (
    "U heeft op dit moment geen tweede factor die dit kan bevestigen. Meld u af en meld u opnieuw aan; "
    "daarna stelt u uw authenticator-app opnieuw in."
)
# D17: sent here on the way back to the code of an app being set up (``routes.auth``).
_APP_LAPSED = (
    "Uw bevestiging is verlopen voordat u de code van uw authenticator-app invoerde. Bevestig opnieuw "
    "dat u het bent; daarna voert u de code in. U hoeft de QR-code niet opnieuw te scannen."
)
_NO_APP = (
    "U heeft geen actieve authenticator-app, dus een code kan hier niet. Bevestig met uw passkey; "
    "stel daarna de app (opnieuw) in via Passkeys."
)


def _wait(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    unit = "minuut" if minutes == 1 else "minuten"
    return (
        f"Te veel pogingen met een onjuiste code. Wacht {minutes} {unit} en probeer het dan opnieuw; "
        "wat u had ingevuld blijft bewaard."
    )


# A form whose handling asks for a step-up is carried through it (``vault.web.errors`` sends the post
# here with a 307, body and all): its fields ride along as hidden ``mee.``-prefixed inputs and come
# back on a page that sends them on with one click. Nothing typed is lost; nothing is stored.
CARRIED = "mee."


def step_up_prompt(
    request: Request,
    vault: Vault,
    actor: WebActor,
    *,
    back: str,
    carried: list[tuple[str, str]],
    error: str | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    choice = second_factor_choice(vault, actor.info, tell=False)  # this page shows no notices
    # A role that needs a passkey never steps up with a code, also when it has no passkey left.
    required = PasskeyConfig.from_settings(vault.settings).requires_passkey(actor.role)
    totp = choice.totp_allowed and not required
    if not (choice.passkey or totp):
        error = _PASSKEY_MISSING if required else _NO_SECOND_FACTOR
    return page(
        request,
        "step_up.html",
        actor=actor,
        back=back,
        error=error,
        notice=notice,
        passkey=choice.passkey,
        totp_allowed=totp,
        carried=carried,
        carried_prefix=CARRIED,
        status_code=status_code,
    )


@router.get("/bevestigen")
def step_up_page(
    request: Request,
    vault: VaultDep,
    actor: WebUser,
    terug: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    """Step-up: re-enter a code (or use a passkey) before a disclosure, break-the-glass, review or export."""
    back = local_path(terug)
    lapsed = back == "/tweede-factor" and not actor.info.factor_active  # an app being set up (D17)
    return step_up_prompt(
        request, vault, actor, back=back, carried=[], notice=_APP_LAPSED if lapsed else None
    )


@router.post("/bevestigen")
def step_up(
    request: Request,
    form: VerifiedForm,
    vault: VaultDep,
    auth: AuthConfigDep,
    terug: Annotated[str | None, Query(max_length=200)] = None,
    mee: Annotated[bool, Query()] = False,
) -> Response:
    actor = form.user
    if mee:  # the form that asked for it, re-sent by the browser: ask, and carry its fields along
        kept = [(name, value) for name, value in form.fields.multi_items() if name != FIELD]
        text = [(name, value) for name, value in kept if isinstance(value, str)]
        return step_up_prompt(request, vault, actor, back=local_path(terug), carried=text)
    back = local_path(form.text("terug", limit=200))
    carried = [
        (name.removeprefix(CARRIED), value)
        for name, value in form.fields.multi_items()
        if name.startswith(CARRIED) and isinstance(value, str)
    ]
    try:
        with transaction(vault.db) as session:
            issued = step_up_with_code(
                session,
                actor.ctx,
                auth,
                PasskeyConfig.from_settings(vault.settings),
                actor.info,
                code=form.text("code", limit=16),
                client_address=actor.client,
            )
    except AuthFailed as exc:
        if exc.rule == PASSKEY_MISSING:
            error = _PASSKEY_MISSING
        else:
            error = PASSKEY_REQUIRED_TEXT if exc.message == PASSKEY_REQUIRED else WRONG_CODE
        return step_up_prompt(request, vault, actor, back=back, carried=carried, error=error, status_code=401)
    except RateLimited as exc:  # the page again, the carried form kept: after the wait nothing is retyped
        refused = step_up_prompt(
            request, vault, actor, back=back, carried=carried, error=_wait(exc.retry_after), status_code=429
        )
        refused.headers["Retry-After"] = str(exc.retry_after)
        return refused
    except Conflict:  # no active app (a reset, being set up again): a code cannot confirm
        return step_up_prompt(
            request, vault, actor, back=back, carried=carried, error=_NO_APP, status_code=400
        )
    if carried:
        response: Response = page(request, "step_up_resume.html", actor=actor, back=back, carried=carried)
    else:
        response = see_other(back)
    set_session_cookie(response, vault, issued.token, issued.expires_at)
    return response
