"""CSRF defence for every unsafe request of the web pages.

Two independent checks, both before anything is read or changed:
1. the browser's own word on where the request comes from: ``Sec-Fetch-Site`` must be
   ``same-origin`` (or ``none``: typed by the user) and ``Origin``, when sent, must be this site;
2. a synchronizer token: HMAC-SHA256 under the SESSION subkey of the session id, bound to the
   session (it survives token rotation, dies with the session), compared in constant time. Before
   login the token is bound to a random nonce in a short-lived cookie instead.
The session cookie is also SameSite=Strict, but SameSite ignores ports and subdomains: a page on
another port of the same host is "same-site" and would carry the cookie, so the checks above are
what refuse it.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Response
from starlette.datastructures import FormData

from vault.auth import AuthConfig, keyed_hash
from vault.errors import Forbidden
from vault.http.deps import AuthConfigDep, VaultDep, client_address
from vault.runtime import Vault
from vault.web.session import WebActor, page_session, web_context, web_user

__all__ = [
    "FIELD",
    "HEADER",
    "LOGIN_NONCE_COOKIE",
    "CsrfRefused",
    "LoginForm",
    "SessionForm",
    "VerifiedForm",
    "WebForm",
    "check_origin",
    "check_token",
    "login_form",
    "login_token",
    "new_login_nonce",
    "session_form",
    "session_token",
    "set_login_nonce",
    "verified_form",
    "verified_header",
]

FIELD = "csrf_token"
HEADER = "x-csrf-token"
LOGIN_NONCE_COOKIE = "vault_login_nonce"
_LABEL = b"vault/web/csrf/v1"
_SAFE_SITES = {"same-origin", "none"}


class CsrfRefused(Forbidden):
    """The request did not come from a page of this site (CSRF)."""

    code = "csrf_refused"


def session_token(auth: AuthConfig, session_id: str) -> str:
    return keyed_hash(auth.hash_key, _LABEL, f"session:{session_id}")


def login_token(auth: AuthConfig, nonce: str) -> str:
    return keyed_hash(auth.hash_key, _LABEL, f"login:{nonce}")


def new_login_nonce() -> str:
    return secrets.token_urlsafe(24)


def set_login_nonce(response: Response, vault: Vault, nonce: str) -> None:
    """The login form's nonce cookie (10 minutes, same flags as the session cookie)."""
    response.set_cookie(
        LOGIN_NONCE_COOKIE,
        nonce,
        max_age=600,
        path="/",
        secure=vault.settings.cookie_secure,
        httponly=True,
        samesite="strict",
    )


def _own_origin(request: Request) -> str:
    host = request.headers.get("host", "")
    return f"{request.url.scheme}://{host}".lower()


def check_origin(request: Request) -> None:
    """Refuse an unsafe request that the browser says comes from another origin.

    Pages send ``Referrer-Policy: no-referrer``, so a browser posts their forms with ``Origin: null``;
    then ``Sec-Fetch-Site`` (sent by every current browser) decides, and without it ``null`` is refused.
    """
    site = request.headers.get("sec-fetch-site")
    if site is not None and site.lower() not in _SAFE_SITES:
        raise CsrfRefused("the request came from another site")
    origin = request.headers.get("origin")
    if origin is None:
        return
    if origin == "null":
        if site is None:
            raise CsrfRefused("the request's origin is unknown")
        return
    if origin.lower() != _own_origin(request):
        raise CsrfRefused("the request came from another site")


def check_token(expected: str, given: str | None) -> None:
    if not given or not hmac.compare_digest(expected.encode(), given.encode()):
        raise CsrfRefused("the form's security token is missing or not valid")


@dataclass(frozen=True)
class WebForm:
    """A checked form post: its fields, and who sent it (None before login)."""

    fields: FormData
    actor: WebActor | None

    def text(self, name: str, *, limit: int = 1000) -> str:
        value = self.fields.get(name)
        return value.strip()[:limit] if isinstance(value, str) else ""

    def day(self, name: str) -> str:
        """A typed day, kept up to 32 characters: more than any day, so an overlong value
        ("31-12-99999") is refused by ``fg_reports.parse_day`` rather than cut to look like one."""
        return self.text(name, limit=32)

    def all(self, name: str) -> list[str]:
        return [v for v in self.fields.getlist(name) if isinstance(v, str)]

    @property
    def user(self) -> WebActor:
        assert self.actor is not None
        return self.actor


async def _fields(request: Request) -> FormData:
    # Small urlencoded forms only: file uploads stream through their own route, never through here.
    return await request.form(max_files=0, max_fields=200, max_part_size=64 * 1024)


async def login_form(request: Request, vault: VaultDep, auth: AuthConfigDep) -> WebForm:
    check_origin(request)
    fields = await _fields(request)
    nonce = request.cookies.get(LOGIN_NONCE_COOKIE)
    given = fields.get(FIELD)
    if not nonce:
        raise CsrfRefused("the login form has expired; reload the page")
    check_token(login_token(auth, nonce), given if isinstance(given, str) else None)
    return WebForm(fields, None)


async def session_form(request: Request, vault: VaultDep, auth: AuthConfigDep) -> WebForm:
    """A form of a logged-in session, second factor passed or not (the second-factor pages)."""
    check_origin(request)
    info = page_session(request, vault, auth)
    fields = await _fields(request)
    given = fields.get(FIELD)
    check_token(session_token(auth, info.session_id), given if isinstance(given, str) else None)
    return WebForm(fields, WebActor(info, web_context(request, vault, info), auth, client_address(request)))


async def verified_form(request: Request, vault: VaultDep, auth: AuthConfigDep) -> WebForm:
    """A form of a session that passed its second factor (every page with case data)."""
    check_origin(request)
    info = page_session(request, vault, auth)
    actor = web_user(request, vault, auth, info)
    fields = await _fields(request)
    given = fields.get(FIELD)
    check_token(session_token(auth, info.session_id), given if isinstance(given, str) else None)
    request.state.verified_fields = fields  # a step-up asked for now carries them (``vault.web.errors``)
    return WebForm(fields, actor)


def verified_header(request: Request, vault: VaultDep, auth: AuthConfigDep) -> WebActor:
    """A script's unsafe request (the upload): the token travels in the ``X-CSRF-Token`` header."""
    check_origin(request)
    info = page_session(request, vault, auth)
    actor = web_user(request, vault, auth, info)
    check_token(session_token(auth, info.session_id), request.headers.get(HEADER))
    return actor


LoginForm = Annotated[WebForm, Depends(login_form)]
SessionForm = Annotated[WebForm, Depends(session_form)]
VerifiedForm = Annotated[WebForm, Depends(verified_form)]
