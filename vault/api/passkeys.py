"""/api/v1/auth/passkeys and /api/v1/auth/factors: passkey (WebAuthn) ceremonies, the caller's own
passkeys, and the administrator's view and revocation. Included in ``vault.api.auth.router``.

Thin: parse → service (in one transaction) → schema.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from vault.api.auth_schemas import VerifiedOut
from vault.api.passkey_schemas import (
    CreationOptionsOut,
    PasskeyAssertionIn,
    PasskeyOut,
    PasskeyRegistrationIn,
    RequestOptionsOut,
    UserFactorsOut,
)
from vault.auth import AuthConfig
from vault.context import Context
from vault.http.deps import (
    AuthConfigDep,
    CurrentSession,
    RequestContext,
    SessionContext,
    StepUpSession,
    VaultDep,
    VerifiedSession,
    client_address,
)
from vault.runtime import Vault
from vault.services.authentication import passkey_policy as policy
from vault.services.authentication import passkeys, password_change_required
from vault.services.authentication.common import SessionInfo
from vault.services.authentication.passkeys import PasskeyConfig, PasskeySummary
from vault.transaction import transaction

router = APIRouter()


def passkey_config(vault: VaultDep) -> PasskeyConfig:
    return PasskeyConfig.from_settings(vault.settings)


PasskeyConfigDep = Annotated[PasskeyConfig, Depends(passkey_config)]


def _passkey_out(item: PasskeySummary) -> PasskeyOut:
    return PasskeyOut(
        id=item.id,
        name=item.name,
        created_at=item.created_at,
        last_used_at=item.last_used_at,
        backup_eligible=item.backup_eligible,
        backed_up=item.backed_up,
        suspect=item.suspect,
        transports=list(item.transports),
    )


@router.post(
    "/passkeys/register/options",
    summary="Options to register a passkey (verified session with step-up, or an enrolment-only session)",
)
def register_options(
    info: CurrentSession, ctx: SessionContext, vault: VaultDep, auth: AuthConfigDep, cfg: PasskeyConfigDep
) -> CreationOptionsOut:
    with transaction(vault.db) as session:
        options = passkeys.begin_registration(session, ctx, auth, cfg, info)
    return CreationOptionsOut(options=options)


@router.post(
    "/passkeys/register", summary="Register the new passkey (attestation checked against the challenge)"
)
def register(
    body: PasskeyRegistrationIn,
    info: CurrentSession,
    ctx: SessionContext,
    vault: VaultDep,
    auth: AuthConfigDep,
    cfg: PasskeyConfigDep,
) -> PasskeyOut:
    with transaction(vault.db) as session:
        item = passkeys.finish_registration(
            session, ctx, auth, cfg, info, credential=body.credential, name=body.name
        )
    return _passkey_out(item)


def _request_options(
    vault: Vault, ctx: Context, cfg: PasskeyConfig, info: SessionInfo, purpose: str
) -> RequestOptionsOut:
    with transaction(vault.db) as session:
        got = passkeys.begin_authentication(session, ctx, cfg, info, purpose=purpose, tell=True)
    return RequestOptionsOut(options=got.options, revoked_by_admin=list(got.revoked_by_admin))


def _assertion(
    vault: Vault,
    ctx: Context,
    auth: AuthConfig,
    cfg: PasskeyConfig,
    info: SessionInfo,
    body: PasskeyAssertionIn,
    request: Request,
    purpose: str,
) -> VerifiedOut:
    """Sign-in and step-up alike: the assertion checked for ``purpose``; the token rotates."""
    with transaction(vault.db) as session:
        issued = passkeys.finish_authentication(
            session,
            ctx,
            auth,
            cfg,
            info,
            credential=body.credential,
            purpose=purpose,
            client_address=client_address(request),
        )
        change_required = password_change_required(session, info.user_id)
    return VerifiedOut.of(issued, change_required=change_required)


@router.post("/passkeys/login/options", summary="Options to pass the second factor with a passkey")
def login_options(
    info: CurrentSession, ctx: SessionContext, vault: VaultDep, cfg: PasskeyConfigDep
) -> RequestOptionsOut:
    return _request_options(vault, ctx, cfg, info, "login")


@router.post("/passkeys/login", summary="Pass the second factor with a passkey assertion; rotates the token")
def login(
    body: PasskeyAssertionIn,
    request: Request,
    info: CurrentSession,
    ctx: SessionContext,
    vault: VaultDep,
    auth: AuthConfigDep,
    cfg: PasskeyConfigDep,
) -> VerifiedOut:
    return _assertion(vault, ctx, auth, cfg, info, body, request, "login")


@router.post("/passkeys/step-up/options", summary="Options for a passkey step-up")
def step_up_options(
    info: VerifiedSession, ctx: SessionContext, vault: VaultDep, cfg: PasskeyConfigDep
) -> RequestOptionsOut:
    return _request_options(vault, ctx, cfg, info, "step_up")


@router.post("/passkeys/step-up", summary="Step-up with a passkey assertion; rotates the token")
def step_up(
    body: PasskeyAssertionIn,
    request: Request,
    info: VerifiedSession,
    ctx: SessionContext,
    vault: VaultDep,
    auth: AuthConfigDep,
    cfg: PasskeyConfigDep,
) -> VerifiedOut:
    return _assertion(vault, ctx, auth, cfg, info, body, request, "step_up")


@router.get("/passkeys", summary="The caller's passkeys")
def list_own(info: VerifiedSession, vault: VaultDep) -> list[PasskeyOut]:
    with transaction(vault.db) as session:
        items = passkeys.list_passkeys(session, info)
    return [_passkey_out(item) for item in items]


@router.delete(
    "/passkeys/{passkey_id}",
    status_code=204,
    summary="Remove one of the caller's passkeys (step-up); the caller's other sessions end. "
    "Never the last second factor (409)",
)
def remove(
    passkey_id: str, info: StepUpSession, ctx: SessionContext, vault: VaultDep, auth: AuthConfigDep
) -> Response:
    with transaction(vault.db) as session:
        passkeys.remove_passkey(session, ctx, auth, info, passkey_id[:64])
    return Response(status_code=204)


@router.get("/factors", summary="Administrators: every account's sign-in factors")
def factors(ctx: RequestContext, vault: VaultDep, cfg: PasskeyConfigDep) -> list[UserFactorsOut]:
    with transaction(vault.db) as session:
        rows = policy.factor_overview(session, ctx, cfg)
    return [
        UserFactorsOut(
            user_id=r.user_id,
            username=r.username,
            role=r.role,
            disabled=r.disabled,
            totp_active=r.totp_active,
            recovery_codes_left=r.recovery_codes_left,
            passkey_required=r.passkey_required,
            passkeys=[_passkey_out(p) for p in r.passkeys],
        )
        for r in rows
    ]


@router.delete(
    "/factors/{username}/passkeys/{passkey_id}",
    status_code=204,
    summary="Administrators: revoke a lost passkey (step-up); the user's sessions end",
)
def revoke(username: str, passkey_id: str, ctx: RequestContext, vault: VaultDep) -> Response:
    with transaction(vault.db) as session:
        policy.revoke_passkey(
            session, ctx, username[:64], passkey_id[:64], step_up_minutes=vault.settings.step_up_minutes
        )
    return Response(status_code=204)
