"""/api/v1/auth: login, TOTP enrolment and verification, recovery codes, step-up, sessions, password;
passkeys in ``vault.api.passkeys`` (included below). TOTP and recovery codes pass through the passkey
role policy (``passkey_policy.check_code``).

Thin: parse → service (in one transaction, in the request's worker thread) → schema.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from vault.api import passkeys
from vault.api.auth_schemas import (
    EnrolmentOut,
    LoginIn,
    LoginOut,
    PasswordChangeIn,
    PasswordChangeOut,
    RecoveryCodesOut,
    SecondFactorIn,
    SessionOut,
    VerifiedOut,
)
from vault.context import Context
from vault.http.deps import (
    AuthConfigDep,
    CurrentSession,
    SessionContext,
    StepUpSession,
    VaultDep,
    VerifiedSession,
    anonymous_context,
    client_address,
    unverified_refusal,
)
from vault.repositories import identity as repo
from vault.services import authentication as authn
from vault.services.authentication import (
    SessionInfo,
    password_change_pending,
    password_change_required,
)
from vault.services.authentication.passkey_policy import check_code, step_up_with_code
from vault.transaction import transaction

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])

AnonymousContext = Annotated[Context, Depends(anonymous_context)]


@router.post("/login", summary="Password → a session whose second factor is not yet verified")
def login(
    body: LoginIn, request: Request, vault: VaultDep, auth: AuthConfigDep, ctx: AnonymousContext
) -> LoginOut:
    with transaction(vault.db) as session:
        issued = authn.login(
            session,
            ctx,
            auth,
            username=body.username,
            password=body.password,
            client_address=client_address(request),
        )
        user = repo.user_by_username(session, body.username.strip().lower())
        change_required = user is not None and user.password_change_required
    return LoginOut(
        token=issued.token,
        session_id=issued.session_id,
        expires_at=issued.expires_at,
        second_factor_verified=False,
        enrolment_required=issued.enrolment_required,
        password_change_required=change_required,
    )


@router.post("/totp/enrol", summary="Start TOTP enrolment: otpauth URI and QR code (SVG)")
def totp_enrol(
    info: CurrentSession, ctx: SessionContext, vault: VaultDep, auth: AuthConfigDep
) -> EnrolmentOut:
    with transaction(vault.db) as session:
        enrolment = authn.enrol_totp(session, ctx, auth, info)
    return EnrolmentOut(otpauth_uri=enrolment.otpauth_uri, qr_svg=enrolment.qr_svg)


@router.post("/totp/verify", summary="Verify a TOTP code (activates a new factor); rotates the token")
def totp_verify(
    body: SecondFactorIn,
    request: Request,
    info: CurrentSession,
    ctx: SessionContext,
    vault: VaultDep,
    auth: AuthConfigDep,
    cfg: passkeys.PasskeyConfigDep,
) -> VerifiedOut:
    with transaction(vault.db) as session:
        checked = check_code(
            session, ctx, auth, cfg, info, code=body.code, client_address=client_address(request)
        )
        change_required = password_change_required(session, info.user_id)
    return VerifiedOut.of(
        checked.issued, enrolment_only=checked.enrolment_only, change_required=change_required
    )


@router.post("/recovery/verify", summary="Pass the second factor with a recovery code (burned on use)")
def recovery_verify(
    body: SecondFactorIn,
    request: Request,
    info: CurrentSession,
    ctx: SessionContext,
    vault: VaultDep,
    auth: AuthConfigDep,
    cfg: passkeys.PasskeyConfigDep,
) -> VerifiedOut:
    with transaction(vault.db) as session:
        checked = check_code(
            session,
            ctx,
            auth,
            cfg,
            info,
            code=body.code,
            client_address=client_address(request),
            recovery=True,
        )
        change_required = password_change_required(session, info.user_id)
    return VerifiedOut.of(
        checked.issued, enrolment_only=checked.enrolment_only, change_required=change_required
    )


@router.post("/recovery/regenerate", summary="A new set of recovery codes (needs step-up); revokes the old")
def recovery_regenerate(
    info: StepUpSession, ctx: SessionContext, vault: VaultDep, auth: AuthConfigDep
) -> RecoveryCodesOut:
    with transaction(vault.db) as session:
        codes = authn.regenerate_recovery_codes(session, ctx, auth, info)
    return RecoveryCodesOut(recovery_codes=list(codes))


@router.post("/step-up", summary="A fresh TOTP check for sensitive actions; rotates the token")
def step_up(
    body: SecondFactorIn,
    request: Request,
    info: VerifiedSession,
    ctx: SessionContext,
    vault: VaultDep,
    auth: AuthConfigDep,
    cfg: passkeys.PasskeyConfigDep,
) -> VerifiedOut:
    with transaction(vault.db) as session:
        issued = step_up_with_code(
            session, ctx, auth, cfg, info, code=body.code, client_address=client_address(request)
        )
    return VerifiedOut.of(issued)


@router.post("/logout", status_code=204, summary="End this session server-side")
def logout(info: CurrentSession, ctx: SessionContext, vault: VaultDep) -> Response:
    with transaction(vault.db) as session:
        authn.logout(session, ctx, info)
    return Response(status_code=204)


@router.get("/sessions", summary="The caller's open sessions")
def sessions(info: VerifiedSession, ctx: SessionContext, vault: VaultDep) -> list[SessionOut]:
    with transaction(vault.db) as session:
        rows = authn.list_sessions(session, ctx, info)
    return [SessionOut(**vars(r)) for r in rows]


@router.delete("/sessions/{session_id}", status_code=204, summary="End one of the caller's sessions")
def end_session(session_id: str, info: VerifiedSession, ctx: SessionContext, vault: VaultDep) -> Response:
    with transaction(vault.db) as session:
        authn.end_session(session, ctx, info, session_id[:64])
    return Response(status_code=204)


def password_change_session(info: CurrentSession) -> SessionInfo:
    """A verified session, or one held until its user replaces a generated password (the only route
    such a session reaches besides logout); any other is refused before the body is read (401)."""
    if not info.second_factor_verified and not password_change_pending(info):
        raise unverified_refusal(info)
    return info


PasswordChangeSession = Annotated[SessionInfo, Depends(password_change_session)]


@router.post("/password", summary="Change the password; ends every other session, rotates the token")
def change_password(
    body: PasswordChangeIn,
    request: Request,
    info: PasswordChangeSession,
    ctx: SessionContext,
    vault: VaultDep,
    auth: AuthConfigDep,
) -> PasswordChangeOut:
    with transaction(vault.db) as session:
        changed = authn.change_password(
            session,
            ctx,
            auth,
            info,
            current_password=body.current_password,
            new_password=body.new_password,
            client_address=client_address(request),
        )
    return PasswordChangeOut(
        other_sessions_ended=changed.other_sessions_ended, token=changed.token, expires_at=changed.expires_at
    )


router.include_router(passkeys.router)  # /passkeys/… and /factors/… (vault/api/passkeys.py)
