"""The web session: a cookie carrying the same session token the API's Bearer carries.

The cookie is HttpOnly, SameSite=Strict, Path=/ and Secure unless ``settings.cookie_secure`` is off
(plain-HTTP local demo only); with Secure on it takes the ``__Host-`` prefix, so no other host or path
can set it. The Context of a page is built exactly as ``vault.http.deps`` builds it, with
``access_point="web"`` and the session's ``factor_checked_at`` (step-up).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from sqlalchemy.orm import Session

from vault.auth import AuthConfig
from vault.context import Context
from vault.errors import AuthFailed, Forbidden
from vault.http.deps import AuthConfigDep, VaultDep, client_address, session_read_in
from vault.runtime import Vault
from vault.services import authentication
from vault.services.authentication import SessionInfo
from vault.transaction import transaction

__all__ = [
    "ACCESS_POINT",
    "FETCH_SITE",
    "OWN_PAGES_ONLY",
    "LoginRequired",
    "PageSession",
    "SecondFactorRequired",
    "WebActor",
    "WebUser",
    "anonymous_web_context",
    "clear_session_cookie",
    "cookie_name",
    "idle_expiry",
    "login_required",
    "page_session",
    "refuse_other_sites",
    "set_session_cookie",
    "web_actor_in",
    "web_context",
    "web_user",
]

ACCESS_POINT = "web"


class LoginRequired(Exception):
    """No live session: send the browser to the login page (``reason`` picks the Dutch message)."""

    def __init__(self, reason: str = "") -> None:
        super().__init__(reason)
        self.reason = reason


class SecondFactorRequired(Exception):
    """A session whose second factor is not verified asked for a page that needs it (D17)."""


def cookie_name(vault: Vault) -> str:
    return "__Host-vault_session" if vault.settings.cookie_secure else "vault_session"


def set_session_cookie(response: Response, vault: Vault, token: str, expires_at: datetime) -> None:
    seconds = max(0, int((expires_at - vault.clock.now()).total_seconds()))
    response.set_cookie(
        cookie_name(vault),
        token,
        max_age=seconds,
        path="/",
        secure=vault.settings.cookie_secure,
        httponly=True,
        samesite="strict",
    )


def clear_session_cookie(response: Response, vault: Vault) -> None:
    response.delete_cookie(
        cookie_name(vault), path="/", secure=vault.settings.cookie_secure, httponly=True, samesite="strict"
    )


def _request_id(request: Request) -> str:
    rid = getattr(request.state, "request_id", None)
    return rid if isinstance(rid, str) else "unknown"


def anonymous_web_context(request: Request, vault: Vault) -> Context:
    return Context(
        actor_id=None,
        role=None,
        access_point=ACCESS_POINT,
        request_id=_request_id(request),
        clock=vault.clock,
    )


def web_context(request: Request, vault: Vault, info: SessionInfo) -> Context:
    """The same Context ``vault.http.deps`` builds for a Bearer caller, from the cookie's session."""
    return Context(
        actor_id=info.user_id,
        role=info.role,
        org_id=info.org_id,
        access_point=ACCESS_POINT,
        session_id=info.session_id,
        second_factor_verified=info.second_factor_verified,
        factor_checked_at=info.factor_checked_at,
        request_id=_request_id(request),
        clock=vault.clock,
    )


def idle_expiry(vault: Vault, info: SessionInfo) -> datetime:
    """When this session ends if the user does nothing (it was touched just now)."""
    idle = vault.clock.now() + timedelta(minutes=vault.settings.session_idle_minutes)
    return min(idle, info.expires_at)


def web_actor_in(
    session: Session, request: Request, vault: Vault, auth: AuthConfig, token_hash: str, document_id: str
) -> tuple[WebActor, Any]:
    """``web_user`` for the download, inside its ``GroupCommit`` job, with its facts row (the API's
    ``session_read_in``: the session and the gate's facts in one statement). No live session is
    refused as ``Refusal(AuthFailed)`` (an expired session's end and its audit entry commit); the
    route turns it into ``LoginRequired``, and an unverified second factor into
    ``SecondFactorRequired``."""
    info, row = session_read_in(
        session, anonymous_web_context(request, vault), auth, token_hash, document_id, None
    )
    return WebActor(info, web_context(request, vault, info), auth, client_address(request)), row


def login_required(exc: AuthFailed) -> LoginRequired:
    """The redirect to the login page for a refused session (``page_session``, ``web_actor_in``)."""
    return LoginRequired("expired" if exc.rule == "session-expired" else "")


FETCH_SITE = "fetch-site"  # the rule of ``refuse_other_sites``
_OWN_SITE = ("same-origin", "none")  # a page of this origin, or typed, bookmarked, opened by the user


def refuse_other_sites(request: Request, *, navigation: bool = True) -> None:
    """Fetch metadata: a page with a session is never a resource of another origin's page. The
    session cookie is SameSite=Strict, but SameSite ignores ports and subdomains, so a page on
    another port of this host could embed ``<img src="/fg/bewijs/…">`` and make a logged-in person
    read a case or sign a checkpoint under their own name. Another site may still link here (a
    top-level navigation, what the person clicks) unless ``navigation`` is False: a page whose GET
    does work (signs a checkpoint, asks the witnesses) is opened only from this site's own pages.
    Without ``Sec-Fetch-Site`` (not a current browser) nothing is refused: the cookie and the CSRF
    token guard the rest."""
    site = request.headers.get("sec-fetch-site")
    if site is None or site.lower() in _OWN_SITE:
        return
    opened = request.headers.get("sec-fetch-mode") == "navigate" and request.headers.get(
        "sec-fetch-dest", "document"
    ) in ("document", "empty")
    if not (navigation and opened and request.method in ("GET", "HEAD")):
        raise Forbidden("this page is opened only from the vault's own pages", rule=FETCH_SITE)


def _own_pages_only(request: Request) -> None:
    refuse_other_sites(request, navigation=False)


# For a route whose GET does work (signs, asks the witnesses): ``dependencies=[OWN_PAGES_ONLY]``.
OWN_PAGES_ONLY = Depends(_own_pages_only)


def page_session(request: Request, vault: VaultDep, auth: AuthConfigDep) -> SessionInfo:
    """The cookie's live session (any second-factor state), else ``LoginRequired``."""
    refuse_other_sites(request)
    token = request.cookies.get(cookie_name(vault))
    if not token:
        raise LoginRequired()
    ctx = anonymous_web_context(request, vault)
    try:
        with transaction(vault.db) as session:
            return authentication.authenticate(session, ctx, auth, token)
    except AuthFailed as exc:
        raise login_required(exc) from None


PageSession = Annotated[SessionInfo, Depends(page_session)]


@dataclass(frozen=True)
class WebActor:
    """A verified page visitor: the session snapshot, the service Context and the auth settings."""

    info: SessionInfo
    ctx: Context
    auth: AuthConfig
    client: str | None

    @property
    def role(self) -> str:
        return self.info.role


def web_user(request: Request, vault: VaultDep, auth: AuthConfigDep, info: PageSession) -> WebActor:
    """Every page with case data takes this: a session that passed its second factor (D17)."""
    if not info.second_factor_verified:
        raise SecondFactorRequired()
    actor = WebActor(info, web_context(request, vault, info), auth, client_address(request))
    request.state.web_actor = actor  # the error page shows the menu of the logged-in user
    return actor


WebUser = Annotated[WebActor, Depends(web_user)]
