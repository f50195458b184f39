"""Authentication use cases (D17): login, TOTP enrolment and verification, recovery codes, step-up,
sessions and password change — ``sessions``, ``second_factor`` and ``passwords``, over ``common``.

Refusals that must leave a trace (failed attempts for the rate limits, audit entries) raise
``Refusal(error)``: run these use cases inside ``vault.transaction.transaction``, which commits the
trace and then raises the error.
"""

from vault.services.authentication.common import Enrolment, IssuedSession, SessionInfo, SessionSummary
from vault.services.authentication.passwords import (
    PASSWORD_CHANGE_REQUIRED,
    change_password,
    password_change_pending,
    password_change_required,
)
from vault.services.authentication.second_factor import (
    enrol_totp,
    recovery_codes_left,
    regenerate_recovery_codes,
    step_up,
    verify_recovery_code,
    verify_totp,
)
from vault.services.authentication.sessions import (
    GENERATED_PASSWORD_EXPIRED,
    TOUCH_INTERVAL,
    authenticate,
    check_session,
    end_session,
    list_sessions,
    login,
    logout,
    require_step_up,
    session_token_hash,
)

__all__ = [
    "GENERATED_PASSWORD_EXPIRED",
    "PASSWORD_CHANGE_REQUIRED",
    "TOUCH_INTERVAL",
    "Enrolment",
    "IssuedSession",
    "SessionInfo",
    "SessionSummary",
    "authenticate",
    "change_password",
    "check_session",
    "end_session",
    "enrol_totp",
    "list_sessions",
    "login",
    "logout",
    "password_change_pending",
    "password_change_required",
    "recovery_codes_left",
    "regenerate_recovery_codes",
    "require_step_up",
    "session_token_hash",
    "step_up",
    "verify_recovery_code",
    "verify_totp",
]
