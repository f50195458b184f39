"""Passkeys and security keys (WebAuthn, py_webauthn): a phishing-resistant second factor beside TOTP.

A passkey is a second factor after the password, exactly like a TOTP code: a verified assertion marks
the session verified (``mark_verified``: the token rotates) and counts as step-up. Every ceremony
checks the relying-party id and the origin from the settings (``VAULT_WEBAUTHN_RP_ID``,
``VAULT_WEBAUTHN_ORIGIN``); challenges are stored server-side, bound to the session and a purpose,
short-lived (``CHALLENGE_TTL``) and consumed atomically (used once); a session starts at most
``CEREMONY_STARTS`` ceremonies of a purpose within ``CEREMONY_WINDOW`` (429 beyond). A sign count that
does not move forward (a cloned authenticator, or a replayed response) is refused, audited and marks
the credential suspect, and ends every session of its user (one of them may be the clone's); a suspect
credential no longer signs in until an administrator revokes it. Removing one's own passkey ends the
user's other sessions and never removes the last second factor (``passkey_store.remove_passkey``).

Role policy (``VAULT_PASSKEY_REQUIRED_ROLES``): a user of such a role with a passkey cannot pass with a
TOTP code (refused and audited), only with a passkey or a recovery code (audited). Without a passkey
yet, a TOTP code or recovery code leaves the session unverified and grants ``ENROLMENT_WINDOW`` to
register one; the user then signs in with it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url, options_to_json_dict
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    CredentialDeviceType,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from vault.audit import record
from vault.auth import AttemptKind, AuthConfig
from vault.context import Context
from vault.domain import AuditTag, Decision
from vault.errors import AuthFailed, Conflict, InvalidInput
from vault.models.identity import PasskeyCredential
from vault.repositories import identity as repo
from vault.services.authentication.common import (
    Attempt,
    IssuedSession,
    SessionInfo,
    acting_as,
    active_user,
    live_session_row,
    mark_verified,
)
from vault.services.authentication.passkey_store import (
    CHALLENGE_TTL,
    ENROLMENT_WINDOW,
    TIMEOUT_MS,
    TRANSPORTS,
    PasskeyConfig,
    PasskeySummary,
    RequestOptions,
    active_credentials,
    credential_json,
    enrolment_window_open,
    failure_reason,
    has_passkey,
    list_passkeys,
    may_enrol,
    new_challenge,
    remove_passkey,
    revocation_notices,
    summary,
    take_challenge,
)
from vault.transaction import Refusal

__all__ = [
    "CHALLENGE_TTL",
    "ENROLMENT_WINDOW",
    "PasskeyConfig",
    "PasskeySummary",
    "RequestOptions",
    "begin_authentication",
    "begin_registration",
    "enrolment_window_open",
    "finish_authentication",
    "finish_registration",
    "has_passkey",
    "list_passkeys",
    "may_enrol",
    "remove_passkey",
    "revocation_notices",
    "summary",
]

WRONG_PASSKEY = "the passkey response is not valid"


def begin_registration(
    session: Session, ctx: Context, auth: AuthConfig, cfg: PasskeyConfig, info: SessionInfo
) -> dict[str, Any]:
    """Options for ``navigator.credentials.create`` (attestation "none"); audited."""
    user = active_user(session, info.user_id)
    may_enrol(session, ctx, auth, info)
    challenge = new_challenge(session, ctx, info, "register", tag=AuditTag.AUTH_PASSKEY_REGISTRATION_STARTED)
    existing = active_credentials(session, user.id)
    options = generate_registration_options(
        rp_id=cfg.rp_id,
        rp_name=cfg.rp_name,
        user_id=user.id.encode(),
        user_name=user.username,
        user_display_name=user.username,
        challenge=challenge,
        timeout=TIMEOUT_MS,
        attestation=AttestationConveyancePreference.NONE,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=base64url_to_bytes(row.credential_id)) for row in existing
        ],
    )
    record(session, ctx, AuditTag.AUTH_PASSKEY_REGISTRATION_STARTED, object_type="user", object_id=user.id)
    return dict(options_to_json_dict(options))


def _clean_name(name: str, count: int) -> str:
    cleaned = " ".join(name.split())[:64]
    if any(ord(c) < 32 or ord(c) == 127 or 0xD800 <= ord(c) <= 0xDFFF for c in cleaned):
        raise InvalidInput("the name of a passkey may not contain control characters or lone surrogates")
    return cleaned or f"Passkey {count + 1}"


def finish_registration(
    session: Session,
    ctx: Context,
    auth: AuthConfig,
    cfg: PasskeyConfig,
    info: SessionInfo,
    *,
    credential: Mapping[str, Any],
    name: str,
) -> PasskeySummary:
    """Verify the attestation against the session's challenge, the rp id and the origin; store it."""
    user = active_user(session, info.user_id)
    may_enrol(session, ctx, auth, info)
    existing = active_credentials(session, user.id)
    label = _clean_name(name, len(existing))
    raw = credential_json(credential)
    challenge = take_challenge(session, ctx, info, "register")

    def refuse(reason: str) -> Refusal:
        record(
            session,
            ctx,
            AuditTag.AUTH_PASSKEY_REGISTRATION_FAILED,
            object_type="user",
            object_id=user.id,
            decision=Decision.DENY,
            details={"reason": reason},
        )
        return Refusal(InvalidInput("the passkey could not be registered; try again"))

    if challenge is None:
        raise refuse("no_challenge")
    try:
        verified = verify_registration_response(
            credential=raw,
            expected_challenge=challenge,
            expected_rp_id=cfg.rp_id,
            expected_origin=cfg.origin,
        )
    except (WebAuthnException, ValueError, TypeError, KeyError) as exc:
        raise refuse(failure_reason(exc)) from None
    credential_id = bytes_to_base64url(verified.credential_id)
    if session.scalar(select(PasskeyCredential.id).where(PasskeyCredential.credential_id == credential_id)):
        raise refuse("already_registered")
    response = credential.get("response")
    transports = response.get("transports") if isinstance(response, Mapping) else None
    kept = (
        [t for t in transports if isinstance(t, str) and t in TRANSPORTS]
        if isinstance(transports, list)
        else []
    )
    row = PasskeyCredential(
        id=str(uuid.uuid4()),
        user_id=user.id,
        credential_id=credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        transports=",".join(sorted(set(kept)))[:200],
        backup_eligible=verified.credential_device_type is CredentialDeviceType.MULTI_DEVICE,
        backed_up=verified.credential_backed_up,
        name=label,
        created_at=ctx.now(),
    )
    session.add(row)
    session.flush()
    record(
        session,
        ctx,
        AuditTag.AUTH_PASSKEY_REGISTERED,
        object_type="passkey",
        object_id=row.id,
        details={
            "user": user.id,
            "backup_eligible": row.backup_eligible,
            "backed_up": row.backed_up,
            "user_verified": verified.user_verified,
            "attestation": str(verified.fmt),
        },
    )
    return summary(row)


def begin_authentication(
    session: Session, ctx: Context, cfg: PasskeyConfig, info: SessionInfo, *, purpose: str, tell: bool = False
) -> RequestOptions:
    """Options for ``navigator.credentials.get`` for sign-in (``login``) or ``step_up``; audited.

    ``tell``: the answer shows the user the passkeys an administrator revoked (they are then told, so
    marked seen); an answer that does not show them (the web's script, a refusal) leaves them for the
    next one that does. Starts are limited per session and purpose (``passkey_store._limit_starts``)."""
    if purpose not in ("login", "step_up"):
        raise InvalidInput("unknown purpose")
    if purpose == "step_up" and not info.second_factor_verified:
        raise AuthFailed("this session has not passed its second factor")
    user = active_user(session, info.user_id)
    live_session_row(session, info)
    usable = [row for row in active_credentials(session, user.id) if row.suspect_at is None]
    if not usable:  # the revocation notices stay untold: this answer does not carry them
        raise Conflict("no passkey is registered for this account")
    challenge = new_challenge(session, ctx, info, purpose, tag=AuditTag.AUTH_PASSKEY_ASSERTION_STARTED)
    notices = revocation_notices(session, user.id, ctx.now()) if tell else ()
    options = generate_authentication_options(
        rp_id=cfg.rp_id,
        challenge=challenge,
        timeout=TIMEOUT_MS,
        allow_credentials=[
            PublicKeyCredentialDescriptor(
                id=base64url_to_bytes(row.credential_id),
                transports=[AuthenticatorTransport(t) for t in row.transports.split(",") if t in TRANSPORTS],
            )
            for row in usable
        ],
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    record(
        session,
        ctx,
        AuditTag.AUTH_PASSKEY_ASSERTION_STARTED,
        object_type="user",
        object_id=user.id,
        details={"purpose": purpose},
    )
    return RequestOptions(dict(options_to_json_dict(options)), notices)


def _flag_suspect(session: Session, ctx: Context, row: PasskeyCredential, reason: str, **counts: int) -> None:
    """Mark the credential suspect and end every session of its user, in the same transaction (the
    refusal that follows commits both): which of the earlier sign-ins was the clone's is unknown."""
    now = ctx.now()
    row.suspect_at = now
    ended = repo.end_sessions(session, row.user_id, now=now, reason="passkey_suspect")
    session.flush()
    record(
        session,
        ctx,
        AuditTag.AUTH_PASSKEY_CLONE_SUSPECTED,
        object_type="passkey",
        object_id=row.id,
        decision=Decision.DENY,
        details={"user": row.user_id, "reason": reason, **counts, "sessions_ended": len(ended)},
    )


def finish_authentication(
    session: Session,
    ctx: Context,
    auth: AuthConfig,
    cfg: PasskeyConfig,
    info: SessionInfo,
    *,
    credential: Mapping[str, Any],
    purpose: str,
    client_address: str | None,
) -> IssuedSession:
    """Verify an assertion: the session's challenge, rp id, origin, signature, sign count and backup
    flags. Passing verifies the session (and counts as step-up); the token rotates."""
    if purpose not in ("login", "step_up"):
        raise InvalidInput("unknown purpose")
    if purpose == "step_up" and not info.second_factor_verified:
        raise AuthFailed("this session has not passed its second factor")
    user = active_user(session, info.user_id)
    row = live_session_row(session, info)
    attempt = Attempt.begin(
        session,
        ctx,
        auth,
        AttemptKind.SECOND_FACTOR,
        AuditTag.AUTH_PASSKEY_FAILED,
        user_id=user.id,
        client_address=client_address,
    )
    raw = credential_json(credential)
    challenge = take_challenge(session, ctx, info, purpose)
    given_id = credential.get("id")
    stored = (  # a credential id is base64url: anything else (a lone surrogate) is no key, not a 500
        session.scalars(
            select(PasskeyCredential).where(PasskeyCredential.credential_id == given_id[:1400])
        ).first()
        if isinstance(given_id, str) and given_id and given_id.isascii()
        else None
    )

    def refuse(reason: str) -> Refusal:
        details: dict[str, str | int | bool | None] = {"purpose": purpose, "reason": reason}
        if stored is not None and stored.user_id == user.id:
            details["passkey"] = stored.id
        return attempt.refuse(AuthFailed(WRONG_PASSKEY), details)

    if challenge is None:
        raise refuse("no_challenge")
    if stored is None or stored.user_id != user.id or stored.revoked_at is not None:
        raise refuse("unknown_credential")
    if stored.suspect_at is not None:
        raise refuse("suspect_credential")
    try:
        verified = verify_authentication_response(
            credential=raw,
            expected_challenge=challenge,
            expected_rp_id=cfg.rp_id,
            expected_origin=cfg.origin,
            credential_public_key=stored.public_key,
            credential_current_sign_count=0,  # the counter is checked below, after the signature
        )
    except (WebAuthnException, ValueError, TypeError, KeyError) as exc:
        raise refuse(failure_reason(exc)) from None
    new_count, old_count = verified.new_sign_count, stored.sign_count
    if (new_count > 0 or old_count > 0) and new_count <= old_count:
        _flag_suspect(session, ctx, stored, "sign_count", sign_count=new_count, stored_sign_count=old_count)
        raise refuse("sign_count")
    eligible = verified.credential_device_type is CredentialDeviceType.MULTI_DEVICE
    if eligible != stored.backup_eligible:
        _flag_suspect(session, ctx, stored, "backup_eligibility_changed")
        raise refuse("backup_eligibility_changed")
    now = ctx.now()
    moved = session.execute(
        update(PasskeyCredential)
        .where(PasskeyCredential.id == stored.id, PasskeyCredential.sign_count == old_count)
        .values(sign_count=new_count, backed_up=verified.credential_backed_up, last_used_at=now)
        .execution_options(synchronize_session="fetch")
    )
    if int(getattr(moved, "rowcount", 0) or 0) != 1:
        raise refuse("concurrent_use")
    token = mark_verified(session, auth, row, now)
    row.passkey_enrolment_until = None
    session.flush()
    record(
        session,
        acting_as(ctx, user, row.id, True),
        AuditTag.AUTH_STEP_UP_OK if purpose == "step_up" else AuditTag.AUTH_PASSKEY_OK,
        object_type="session",
        object_id=row.id,
        details={
            "purpose": purpose,
            "method": "passkey",
            "passkey": stored.id,
            "user_verified": verified.user_verified,
        },
    )
    return IssuedSession(row.id, token, row.expires_at, True, False)
