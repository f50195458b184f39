"""Passkey pages: the list (add, remove) and the JSON endpoints the WebAuthn script calls
(/static/passkeys.js: options → navigator.credentials → response). Included in ``routes.auth``.

The JSON endpoints take the session cookie and the CSRF token in the ``X-CSRF-Token`` header (and the
browser's Origin / Sec-Fetch-Site checks), like the upload; errors come back as ``{"fout": "…"}`` in
Dutch. Removing a passkey is a plain form and needs a fresh second factor (step-up); the last second
factor of an account is never removed (303 back to the list, which says why: ``?melding=``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from vault.auth import step_up_fresh
from vault.errors import AuthFailed, Conflict, InvalidInput, NotFound, RateLimited, StepUpRequired, VaultError
from vault.http.deps import AuthConfigDep, VaultDep, client_address
from vault.runtime import Vault
from vault.services.authentication import passkeys
from vault.services.authentication.common import SessionInfo
from vault.services.authentication.passkeys import PasskeyConfig
from vault.transaction import transaction
from vault.web.csrf import HEADER, VerifiedForm, check_origin, check_token, session_token
from vault.web.render import home_for, local_path, page, see_other
from vault.web.session import PageSession, WebActor, page_session, set_session_cookie, web_context

__all__ = ["SecondFactorChoice", "router", "second_factor_choice"]

router = APIRouter(include_in_schema=False)

_MAX_BODY = 70 * 1024
_MESSAGES: list[tuple[type[VaultError], str]] = [
    (RateLimited, "Te veel pogingen. Wacht een paar minuten en probeer het opnieuw."),
    (
        StepUpRequired,
        "Bevestig eerst opnieuw dat u het bent (stap 'Bevestigen') en probeer het daarna opnieuw.",
    ),
    (AuthFailed, "De passkey is niet geaccepteerd. Probeer het opnieuw of gebruik een herstelcode."),
    (Conflict, "Voor uw account is geen bruikbare passkey ingesteld."),
    (InvalidInput, "De passkey kon niet worden toegevoegd. Probeer het opnieuw."),
    (NotFound, "Deze passkey bestaat niet (meer)."),
]


_LAST_FACTOR = (
    "Dit is uw laatste tweede factor. Stel eerst een andere in (een tweede passkey of de "
    "authenticator-app) en verwijder deze passkey daarna."
)
# A refused removal answers 303 to the list with ``?melding=<code>`` (POST-redirect-GET: a reload does
# not post again); the list shows the text of a code from this fixed table, an unknown code nothing.
_REFUSALS = {"laatste-factor": _LAST_FACTOR}


def _config(vault: Vault) -> PasskeyConfig:
    return PasskeyConfig.from_settings(vault.settings)


def _fout(exc: VaultError) -> JSONResponse:
    status = (
        429 if isinstance(exc, RateLimited) else 401 if isinstance(exc, AuthFailed | StepUpRequired) else 400
    )
    if isinstance(exc, NotFound):
        status = 404
    elif isinstance(exc, Conflict):
        status = 409
    text = next(
        (m for kind, m in _MESSAGES if isinstance(exc, kind)), "Er ging iets mis. Probeer het opnieuw."
    )
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
    return JSONResponse({"fout": text}, status_code=status, headers=headers)


@dataclass(frozen=True)
class _Call:
    info: SessionInfo
    body: dict[str, Any]


async def _json_call(request: Request, vault: Vault, auth: AuthConfigDep) -> _Call:
    """The script's POST: same origin, the session's CSRF token in the header, a small JSON body."""
    check_origin(request)
    info = page_session(request, vault, auth)
    check_token(session_token(auth, info.session_id), request.headers.get(HEADER))
    raw = await request.body()
    if len(raw) > _MAX_BODY:
        raise InvalidInput("the request is too large")
    try:
        body = json.loads(raw or b"{}")
    except (ValueError, RecursionError):  # deep nesting exhausts the parser's recursion, not a 500
        raise InvalidInput("the request is not JSON") from None
    if not isinstance(body, dict):
        raise InvalidInput("the request is not a JSON object")
    return _Call(info, body)


@dataclass(frozen=True)
class SecondFactorChoice:
    """What the second-factor page offers this session: a passkey button, TOTP (only with an active
    factor, and unless the role must use a passkey), revocation notices; or a redirect to the passkey
    page (enrolment window)."""

    redirect: str | None
    passkey: bool
    totp_allowed: bool
    revoked: tuple[str, ...]


def second_factor_choice(vault: Vault, info: SessionInfo, *, tell: bool = True) -> SecondFactorChoice:
    """``tell``: the page shows the revocation notices (they are then marked seen); a page that does
    not show them passes False and leaves them for the next sign-in page."""
    cfg = _config(vault)
    now = vault.clock.now()
    with transaction(vault.db) as session:
        window = passkeys.enrolment_window_open(session, info, now)
        has = passkeys.has_passkey(session, info.user_id)
        revoked = passkeys.revocation_notices(session, info.user_id, now) if tell else ()
    if window and not has:  # a passkey role without one: add it first
        return SecondFactorChoice("/passkeys", has, False, revoked)
    totp = info.factor_active and not (has and cfg.requires_passkey(info.role))
    return SecondFactorChoice(None, has, totp, revoked)


@router.get("/passkeys")
def passkeys_page(request: Request, vault: VaultDep, auth: AuthConfigDep, info: PageSession) -> Response:
    """The user's passkeys; also the enrolment page of a passkey role right after its TOTP check, and
    where a passkey session sets the authenticator app up again after an administrator reset it."""
    return _passkeys_view(request, vault, auth, info)


def _passkeys_view(request: Request, vault: Vault, auth: AuthConfigDep, info: SessionInfo) -> Response:
    now = vault.clock.now()
    with transaction(vault.db) as session:
        window = passkeys.enrolment_window_open(session, info, now)
        items = passkeys.list_passkeys(session, info) if info.second_factor_verified or window else []
    if not info.second_factor_verified and not window:
        return see_other("/tweede-factor")
    actor = None
    if info.second_factor_verified:
        actor = WebActor(info, web_context(request, vault, info), auth, client_address(request))
    fresh = info.second_factor_verified and step_up_fresh(
        info.factor_checked_at, now=now, step_up_minutes=auth.step_up_minutes
    )
    return page(
        request,
        "passkeys.html",
        actor=actor,
        csrf=session_token(auth, info.session_id),
        items=items,
        enrolment_only=window,
        may_add=window or fresh,
        # After an administrator reset the app, a passkey session sets it up again (with a fresh step-up).
        app_missing=info.second_factor_verified and not info.factor_active,
        removed=request.query_params.get("verwijderd") == "1",
        error=_REFUSALS.get(request.query_params.get("melding", "")),
    )


@router.post("/passkeys/registratie/opties")
async def registration_options(request: Request, vault: VaultDep, auth: AuthConfigDep) -> JSONResponse:
    try:
        call = await _json_call(request, vault, auth)
        with transaction(vault.db) as session:
            options = passkeys.begin_registration(
                session, web_context(request, vault, call.info), auth, _config(vault), call.info
            )
    except VaultError as exc:
        return _fout(exc)
    return JSONResponse({"options": options})


@router.post("/passkeys/registratie")
async def register(request: Request, vault: VaultDep, auth: AuthConfigDep) -> JSONResponse:
    try:
        call = await _json_call(request, vault, auth)
        credential = call.body.get("credential")
        name = call.body.get("naam")
        if not isinstance(credential, dict):
            raise InvalidInput("no credential")
        with transaction(vault.db) as session:
            passkeys.finish_registration(
                session,
                web_context(request, vault, call.info),
                auth,
                _config(vault),
                call.info,
                credential=credential,
                name=name if isinstance(name, str) else "",
            )
    except VaultError as exc:
        return _fout(exc)
    # A session in its enrolment window now signs in with the new passkey.
    return JSONResponse({"next": "/passkeys" if call.info.second_factor_verified else "/tweede-factor"})


def _purpose(body: dict[str, Any]) -> str:
    doel = body.get("doel")
    if doel not in ("login", "step_up"):
        raise InvalidInput("unknown purpose")
    return str(doel)


@router.post("/passkeys/aanmelden/opties")
async def sign_in_options(request: Request, vault: VaultDep, auth: AuthConfigDep) -> JSONResponse:
    try:
        call = await _json_call(request, vault, auth)
        with transaction(vault.db) as session:
            got = passkeys.begin_authentication(
                session,
                web_context(request, vault, call.info),
                _config(vault),
                call.info,
                purpose=_purpose(call.body),
            )
    except VaultError as exc:
        return _fout(exc)
    return JSONResponse({"options": got.options})


@router.post("/passkeys/aanmelden")
async def sign_in(request: Request, vault: VaultDep, auth: AuthConfigDep) -> JSONResponse:
    try:
        call = await _json_call(request, vault, auth)
        credential = call.body.get("credential")
        if not isinstance(credential, dict):
            raise InvalidInput("no credential")
        purpose = _purpose(call.body)
        with transaction(vault.db) as session:
            issued = passkeys.finish_authentication(
                session,
                web_context(request, vault, call.info),
                auth,
                _config(vault),
                call.info,
                credential=credential,
                purpose=purpose,
                client_address=client_address(request),
            )
    except VaultError as exc:
        return _fout(exc)
    target = local_path(call.body.get("terug")) if purpose == "step_up" else home_for(call.info.role)
    response = JSONResponse({"next": target})
    set_session_cookie(response, vault, issued.token, issued.expires_at)
    return response


@router.post("/passkeys/{passkey_id}/verwijderen")
def remove(passkey_id: str, form: VerifiedForm, vault: VaultDep, auth: AuthConfigDep) -> Response:
    actor = form.user
    try:
        with transaction(vault.db) as session:
            passkeys.remove_passkey(session, actor.ctx, auth, actor.info, passkey_id[:64])
    except StepUpRequired:
        return see_other("/bevestigen?terug=/passkeys")
    except NotFound:
        return see_other("/passkeys")
    except Conflict:  # the last second factor stays: the page says why, after a redirect
        return see_other("/passkeys?melding=laatste-factor")
    return see_other("/passkeys?verwijderd=1")
