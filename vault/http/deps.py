"""FastAPI dependencies: the vault, a transaction, the caller's session and context, step-up.

Fail closed by construction: `request_context` (what every content route takes) depends on
`verified_actor`, so a route that builds a Context cannot be reached by a session whose second factor
is not verified (D17). Only the routes under /api/v1/auth take the weaker `current_session`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from sqlalchemy.orm import Session

from vault.auth import AuthConfig
from vault.context import Context
from vault.errors import AuthFailed, Forbidden
from vault.repositories import access
from vault.runtime import Vault
from vault.services import authentication
from vault.services.authentication import SessionInfo
from vault.transaction import Refusal, transaction

__all__ = [
    "AuthConfigDep",
    "BearerCredentials",
    "CurrentSession",
    "RequestContext",
    "SessionContext",
    "StepUpSession",
    "VaultDep",
    "VerifiedSession",
    "anonymous_context",
    "bearer_in_header",
    "bearer_token",
    "client_address",
    "current_session",
    "get_auth_config",
    "get_vault",
    "request_context",
    "require_step_up",
    "session_context",
    "session_read_in",
    "unverified_refusal",
    "verified_actor",
    "verified_context_in",
]

_bearer = HTTPBearer(auto_error=False, description="Session token from POST /api/v1/auth/login")


async def get_vault(request: Request) -> Vault:
    vault: Vault = request.app.state.vault
    return vault


VaultDep = Annotated[Vault, Depends(get_vault)]


async def get_auth_config(vault: VaultDep) -> AuthConfig:
    return AuthConfig.from_vault(vault)


AuthConfigDep = Annotated[AuthConfig, Depends(get_auth_config)]


def _request_id(request: Request) -> str:
    rid = getattr(request.state, "request_id", None)
    return rid if isinstance(rid, str) else "unknown"


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def anonymous_context(request: Request, vault: VaultDep) -> Context:
    """The context of a caller not yet authenticated (login)."""
    return Context(
        actor_id=None, role=None, access_point="api", request_id=_request_id(request), clock=vault.clock
    )


BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def bearer_token(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthFailed("a valid session token is required")
    return credentials.credentials


def bearer_in_header(authorization: str | None) -> str:
    """``bearer_token`` for a route that reads its ``Authorization`` header itself (the hot path):
    parsed as ``HTTPBearer`` parses it."""
    scheme, param = get_authorization_scheme_param(authorization)
    if not param:
        raise AuthFailed("a valid session token is required")
    return bearer_token(HTTPAuthorizationCredentials(scheme=scheme, credentials=param))


def current_session(
    request: Request, vault: VaultDep, auth: AuthConfigDep, credentials: BearerCredentials
) -> SessionInfo:
    """``Authorization: Bearer <token>`` → the live session (any second-factor state), else AuthFailed.

    Runs in its own short transaction (touching last_seen_at; ending an expired session)."""
    token = bearer_token(credentials)
    with transaction(vault.db) as session:
        return authentication.authenticate(session, anonymous_context(request, vault), auth, token)


CurrentSession = Annotated[SessionInfo, Depends(current_session)]


def unverified_refusal(info: SessionInfo) -> AuthFailed | Forbidden:
    """Why a session that is not verified is refused: 401 before its second factor; 403 with the
    reason for one held until its user replaces a generated password (only ``POST
    /api/v1/auth/password`` and logout answer it)."""
    if authentication.password_change_pending(info):
        return Forbidden(authentication.PASSWORD_CHANGE_REQUIRED, rule="password-change-required")
    return AuthFailed("this session has not passed its second factor")


def verified_actor(info: CurrentSession) -> SessionInfo:
    """The session must have passed its second factor (D17); otherwise 401 (403 while its user must
    still change a generated password)."""
    if not info.second_factor_verified:
        raise unverified_refusal(info)
    return info


VerifiedSession = Annotated[SessionInfo, Depends(verified_actor)]


def require_step_up(info: VerifiedSession, auth: AuthConfigDep, vault: VaultDep) -> SessionInfo:
    """Disclosure, break-the-glass, export, key operations: a second factor within step_up_minutes."""
    ctx = Context(actor_id=info.user_id, role=info.role, access_point="api", clock=vault.clock)
    authentication.require_step_up(info, ctx, auth)
    return info


StepUpSession = Annotated[SessionInfo, Depends(require_step_up)]


def _context_for(request: Request, vault: Vault, info: SessionInfo) -> Context:
    return Context(
        actor_id=info.user_id,
        role=info.role,
        org_id=info.org_id,
        access_point="api",
        session_id=info.session_id,
        second_factor_verified=info.second_factor_verified,
        factor_checked_at=info.factor_checked_at,
        request_id=_request_id(request),
        clock=vault.clock,
    )


def request_context(request: Request, vault: VaultDep, info: VerifiedSession) -> Context:
    """The Context of a verified caller: what every case, document, disclosure and audit route takes."""
    return _context_for(request, vault, info)


def session_read_in(
    session: Session, ctx: Context, auth: AuthConfig, token_hash: str, document_id: str, version: int | None
) -> tuple[SessionInfo, Any]:
    """The download's session check and its gate facts from ONE statement
    (``access.session_document_read``), inside the caller's ``GroupCommit`` job: the live session
    (any second-factor state) and the row ``gate.admit_read`` takes as its facts. A refused session
    is raised as ``Refusal`` so that its trace (an expired session ended and audited) commits."""
    row = access.session_document_read(session, token_hash, document_id, version)
    try:
        return authentication.check_session(session, ctx, auth, row), row
    except AuthFailed as exc:
        raise Refusal(exc) from None


def verified_context_in(
    session: Session,
    request: Request,
    vault: Vault,
    auth: AuthConfig,
    token_hash: str,
    document_id: str,
    version: int | None,
) -> tuple[Context, Any]:
    """``request_context`` for the API's download, with its facts row (``session_read_in``); a
    session whose second factor is not verified is refused (D17) before any decision."""
    info, row = session_read_in(
        session, anonymous_context(request, vault), auth, token_hash, document_id, version
    )
    if not info.second_factor_verified:
        raise Refusal(unverified_refusal(info))
    return _context_for(request, vault, info), row


RequestContext = Annotated[Context, Depends(request_context)]


def session_context(request: Request, vault: VaultDep, info: CurrentSession) -> Context:
    """The Context of any authenticated caller, verified or not — for the /auth routes only."""
    return _context_for(request, vault, info)


SessionContext = Annotated[Context, Depends(session_context)]
