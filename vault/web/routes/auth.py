"""Login, second factor (enrolment with an inline SVG QR code, code, recovery code, passkey), password
change, logout; the step-up is in ``routes.step_up``. TOTP and recovery codes pass through the passkey
role policy; the passkey pages and the script's JSON endpoints are in ``routes.passkeys``.

An account whose password was generated (``password_change_required``) is sent to "Wachtwoord
wijzigen" after its second factor; until it has chosen its own password its session is held
(``authentication.password_change_pending``): every other page sends it back there."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from vault.auth import MAX_PASSWORD_BYTES
from vault.auth.passwords import MIN_PASSWORD_LENGTH
from vault.errors import AuthFailed, Conflict, InvalidInput, RateLimited, StepUpRequired
from vault.http.deps import AuthConfigDep, VaultDep, client_address
from vault.repositories.identity import factor_for
from vault.runtime import Vault
from vault.services import authentication as authn
from vault.services.admin_views import factor_reset_pending
from vault.services.authentication import (
    IssuedSession,
    SessionInfo,
    password_change_pending,
    password_change_required,
)
from vault.services.authentication.passkey_policy import PASSKEY_REQUIRED, check_code
from vault.services.authentication.passkeys import PasskeyConfig
from vault.services.authentication.second_factor import PASSKEY_FIRST_RULE
from vault.transaction import transaction
from vault.web.csrf import (
    LOGIN_NONCE_COOKIE,
    LoginForm,
    SessionForm,
    login_token,
    new_login_nonce,
    session_token,
    set_login_nonce,
)
from vault.web.render import home_for, page, see_other
from vault.web.routes.passkeys import SecondFactorChoice, second_factor_choice
from vault.web.session import (
    PageSession,
    WebActor,
    WebUser,
    anonymous_web_context,
    clear_session_cookie,
    set_session_cookie,
    web_context,
)

router = APIRouter(include_in_schema=False)

_LOGIN_NOTICES = {
    "verlopen": "Uw sessie is verlopen omdat u een tijd niets heeft gedaan. Meld u opnieuw aan.",
    "uitgelogd": "U bent afgemeld.",
}
_FACTOR_RESET = (
    "Een beheerder heeft uw tweede factor opnieuw ingesteld. Uw oude authenticator-app en herstelcodes "
    "werken niet meer. Stel de tweede factor hieronder opnieuw in."
)
_FACTOR_RESET_PASSKEY = (
    "Een beheerder heeft uw tweede factor opnieuw ingesteld. Uw oude authenticator-app en herstelcodes "
    "werken niet meer. Meld u aan met uw passkey."
)
_WRONG_LOGIN = "De gebruikersnaam of het wachtwoord is onjuist."
_PW_LOGIN_EMPTY = "Vul uw wachtwoord in."
_PW_LOGIN_TOO_LONG = f"Dit wachtwoord is te lang: een wachtwoord heeft hoogstens {MAX_PASSWORD_BYTES} tekens."
_FIRST_LOGIN_EXPIRED = (
    "Dit beginwachtwoord is verlopen. Vraag uw beheerder om een nieuw wachtwoord; "
    "daarmee meldt u zich aan en kiest u meteen een eigen wachtwoord."
)
PASSKEY_REQUIRED_TEXT = "Voor uw rol is een code niet genoeg: meld u aan met uw passkey (of een herstelcode)."
WRONG_CODE = "De code is niet juist of al gebruikt. Wacht op de volgende code en probeer het opnieuw."
_WRONG_RECOVERY_CODE = (
    "Deze herstelcode is niet juist of al gebruikt. Controleer de code, of gebruik een andere herstelcode."
)
PASSWORD_PAGE = "/wachtwoord"  # noqa: S105 - a path
# D17: the first code of an app being set up again (from a passkey session) needs a fresh step-up. Did
# it lapse while the QR code was shown, the session steps up and comes back to /tweede-factor for the
# code; the pending secret stays in the database (sealed, this account's), never in a URL, form or log.
SECOND_FACTOR_PAGE = "/tweede-factor"


def _login_page(
    request: Request,
    vault: VaultDep,
    auth: AuthConfigDep,
    *,
    error: str | None = None,
    notice: str | None = None,
    username: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    nonce = new_login_nonce()
    response = page(
        request,
        "login.html",
        csrf=login_token(auth, nonce),
        status_code=status_code,
        error=error,
        notice=notice,
        typed_username=username,
    )
    set_login_nonce(response, vault, nonce)
    return response


@router.get("/login")
def login_page(
    request: Request,
    vault: VaultDep,
    auth: AuthConfigDep,
    reden: Annotated[str | None, Query(max_length=16)] = None,
) -> HTMLResponse:
    return _login_page(request, vault, auth, notice=_LOGIN_NOTICES.get(reden or ""))


@router.post("/login")
def login(request: Request, form: LoginForm, vault: VaultDep, auth: AuthConfigDep) -> Response:
    ctx = anonymous_web_context(request, vault)
    username = form.text("username", limit=64)
    password = str(form.fields.get("password") or "")[:1024]
    # A password no account can have is named here, before anything is checked or counted: the form
    # again with the username kept, never the generic error page.
    unusable = _PW_LOGIN_EMPTY if not password else None
    if len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        unusable = _PW_LOGIN_TOO_LONG
    if unusable is not None:
        return _login_page(request, vault, auth, error=unusable, username=username, status_code=400)
    try:
        with transaction(vault.db) as session:
            issued = authn.login(
                session,
                ctx,
                auth,
                username=username,
                password=password,
                client_address=client_address(request),
            )
    except AuthFailed as exc:  # the name typed stays (never the password); the same for any account
        expired = exc.message == authn.GENERATED_PASSWORD_EXPIRED  # said only after the right password
        error = _FIRST_LOGIN_EXPIRED if expired else _WRONG_LOGIN
        return _login_page(request, vault, auth, error=error, username=username, status_code=401)
    response = see_other("/tweede-factor")
    set_session_cookie(response, vault, issued.token, issued.expires_at)
    response.delete_cookie(LOGIN_NONCE_COOKIE, path="/")
    return response


@router.get("/tweede-factor")
def second_factor_page(request: Request, vault: VaultDep, auth: AuthConfigDep, info: PageSession) -> Response:
    if info.second_factor_verified:
        if not info.factor_active and _setup_pending(vault, info):  # back from a lapsed step-up (D17)
            return page(request, "enrol_code.html", csrf=session_token(auth, info.session_id), error=None)
        return see_other(home_for(info.role))
    if password_change_pending(info):  # factor passed; a generated password to replace first
        return see_other(PASSWORD_PAGE)
    choice = second_factor_choice(vault, info)
    if choice.redirect:
        return see_other(choice.redirect)
    if _asks_setup_code(vault, info, choice):  # a reload while the app is set up: the code, not a new QR
        return page(request, "enrol_code.html", csrf=session_token(auth, info.session_id), error=None)
    notice = None
    if not info.factor_active:
        with vault.db.session() as session:
            if factor_reset_pending(session, info.user_id):
                notice = _FACTOR_RESET_PASSKEY if choice.passkey else _FACTOR_RESET
    return page(
        request,
        _second_factor_template(info, choice),
        factor_active=info.factor_active,
        csrf=session_token(auth, info.session_id),
        error=None,
        notice=notice,
        passkey=choice.passkey,
        revoked=choice.revoked,
    )


def _setup_pending(vault: Vault, info: SessionInfo) -> bool:
    """An app being set up (its secret made, its first code not yet accepted)."""
    with vault.db.session() as session:
        factor = factor_for(session, info.user_id)
        return factor is not None and not factor.active


def _asks_setup_code(vault: Vault, info: SessionInfo, choice: SecondFactorChoice) -> bool:
    """The app is being set up (its QR code shown, its first code not yet accepted) by a session that
    may activate it: the page asks for the code again, keeping the QR code already scanned (D17). A
    password-only session beside a usable passkey is not such a session (it signs in with the passkey)."""
    if info.factor_active or (choice.passkey and not info.second_factor_verified):
        return False
    return _setup_pending(vault, info)


def _second_factor_template(info: SessionInfo, choice: SecondFactorChoice) -> str:
    """The passkey page for a role that needs one, and after a reset of the second factor beside a
    usable passkey (a password alone never sets up a new factor); else the code or the enrolment page."""
    if (info.factor_active and not choice.totp_allowed) or (not info.factor_active and choice.passkey):
        return "passkey_login.html"
    return "second_factor.html" if info.factor_active else "enrol_start.html"


def _second_factor_again(
    request: Request, vault: VaultDep, info: SessionInfo, csrf: str, error: str, *, field: str = "code"
) -> Response:
    """The second-factor page again, with ``error`` on ``field`` (``code``, or ``recovery_code``: its
    section open) — the passkey page for a role that needs one."""
    choice = second_factor_choice(vault, info, tell=False)  # shows no notices
    if field == "code" and _asks_setup_code(vault, info, choice):  # a mistyped first code: keep the QR
        return page(request, "enrol_code.html", csrf=csrf, error=error, status_code=401)
    return page(
        request,
        _second_factor_template(info, choice),
        factor_active=info.factor_active,
        csrf=csrf,
        error=error,
        error_field=field,
        passkey=choice.passkey,
        revoked=(),
        status_code=401,
    )


def _after_second_factor(
    vault: VaultDep,
    issued: IssuedSession,
    role: str,
    request: Request,
    csrf: str,
    *,
    user_id: str,
    enrolment_only: bool = False,
) -> Response:
    # A role that needs a passkey and has none: the session may only add one (/passkeys). A generated
    # password is replaced before anything else (the session is held until then).
    after = "/passkeys" if enrolment_only else home_for(role)
    if not enrolment_only:
        with vault.db.session() as session:
            if password_change_required(session, user_id):
                after = PASSWORD_PAGE
    if issued.recovery_codes:
        response: Response = page(
            request, "recovery_codes.html", csrf=csrf, codes=issued.recovery_codes, next=after
        )
    else:
        response = see_other(after)
    set_session_cookie(response, vault, issued.token, issued.expires_at)
    return response


@router.post("/tweede-factor/instellen")
def enrol(request: Request, form: SessionForm, vault: VaultDep, auth: AuthConfigDep) -> Response:
    """Start TOTP enrolment: a fresh secret, shown once as a QR code (inline SVG) and as text."""
    actor = form.user
    try:
        with transaction(vault.db) as session:
            enrolment = authn.enrol_totp(session, actor.ctx, auth, actor.info)
    except Conflict:
        return see_other("/tweede-factor")
    except AuthFailed as exc:  # a passkey beside the reset factor: sign in with it first
        if exc.rule == PASSKEY_FIRST_RULE:
            return see_other("/tweede-factor")
        raise
    secret = parse_qs(urlsplit(enrolment.otpauth_uri).query).get("secret", [""])[0]
    return page(
        request,
        "enrol.html",
        csrf=session_token(auth, actor.info.session_id),
        qr_svg=enrolment.qr_svg,
        secret=secret,
        error=None,
    )


def _checked_code(
    request: Request, form: SessionForm, vault: VaultDep, auth: AuthConfigDep, *, recovery: bool
) -> Response:
    """A TOTP code (field ``code``) or a recovery code (field ``recovery_code``): passed, the next page;
    refused, the second-factor page with the error on the field that was used."""
    actor = form.user
    csrf = session_token(auth, actor.info.session_id)
    field = "recovery_code" if recovery else "code"
    try:
        with transaction(vault.db) as session:
            checked = check_code(
                session,
                actor.ctx,
                auth,
                PasskeyConfig.from_settings(vault.settings),
                actor.info,
                code=form.text(field, limit=32 if recovery else 16),
                client_address=actor.client,
                recovery=recovery,
            )
    except AuthFailed as exc:
        if exc.message == PASSKEY_REQUIRED:
            return _second_factor_again(request, vault, actor.info, csrf, PASSKEY_REQUIRED_TEXT)
        error = _WRONG_RECOVERY_CODE if recovery else WRONG_CODE
        return _second_factor_again(request, vault, actor.info, csrf, error, field=field)
    except StepUpRequired:  # the app's first code after the step-up lapsed: nothing accepted, nothing lost
        return see_other(f"/bevestigen?terug={SECOND_FACTOR_PAGE}")  # the notice: ``routes.step_up``
    return _after_second_factor(
        vault,
        checked.issued,
        actor.role,
        request,
        csrf,
        user_id=actor.info.user_id,
        enrolment_only=checked.enrolment_only,
    )


@router.post("/tweede-factor")
def verify_code(request: Request, form: SessionForm, vault: VaultDep, auth: AuthConfigDep) -> Response:
    return _checked_code(request, form, vault, auth, recovery=False)


@router.post("/tweede-factor/herstelcode")
def verify_recovery(request: Request, form: SessionForm, vault: VaultDep, auth: AuthConfigDep) -> Response:
    return _checked_code(request, form, vault, auth, recovery=True)


# -- password change ----------------------------------------------------------------------------------
# Every signed-in staff member (the link in the header), and the one page a held session reaches: an
# account with a generated password after its second factor (``password_change_pending``). Passwords are
# never written back into the form, logged or audited.

_PW_CURRENT_EMPTY = "Vul uw huidige wachtwoord in."
_PW_CURRENT_WRONG = "Het huidige wachtwoord is niet juist. Controleer het en probeer het opnieuw."
_PW_TOO_SHORT = f"Kies een nieuw wachtwoord van minstens {MIN_PASSWORD_LENGTH} tekens."
_PW_TOO_LONG = f"Het nieuwe wachtwoord is te lang: hoogstens {MAX_PASSWORD_BYTES} tekens."
_PW_SAME = "Kies een nieuw wachtwoord dat anders is dan uw huidige wachtwoord."
_PW_DIFFERENT = "De twee nieuwe wachtwoorden zijn niet gelijk. Typ hetzelfde nieuwe wachtwoord twee keer."
_PW_RATE_LIMITED = (
    "Te veel pogingen met een onjuist wachtwoord. Wacht enkele minuten en probeer het dan opnieuw."
)


def _may_change_password(info: SessionInfo) -> bool:
    return info.second_factor_verified or password_change_pending(info)


def _password_page(
    request: Request,
    vault: Vault,
    auth: AuthConfigDep,
    info: SessionInfo,
    *,
    errors: dict[str, str] | None = None,
    done: bool = False,
    status_code: int = 200,
) -> HTMLResponse:
    held = password_change_pending(info)
    actor = None
    if not held:  # a held session gets no menu: it reaches nothing else
        actor = WebActor(info, web_context(request, vault, info), auth, client_address(request))
    return page(
        request,
        "password_change.html",
        actor=actor,
        csrf=session_token(auth, info.session_id),
        held=held,
        errors=errors or {},
        done=done,
        home=home_for(info.role),
        min_length=MIN_PASSWORD_LENGTH,
        status_code=status_code,
    )


@router.get(PASSWORD_PAGE)
def password_page(
    request: Request,
    vault: VaultDep,
    auth: AuthConfigDep,
    info: PageSession,
    gewijzigd: Annotated[str | None, Query(max_length=8)] = None,
) -> Response:
    """ "Wachtwoord wijzigen": current password, the new one twice."""
    if not _may_change_password(info):
        return see_other("/tweede-factor")
    return _password_page(request, vault, auth, info, done=gewijzigd == "ja" and info.second_factor_verified)


def _password_errors(current: str, new: str, again: str) -> dict[str, str]:
    """The form's own checks, in Dutch, per field (the service checks the same again)."""
    errors: dict[str, str] = {}
    if not current:
        errors["current_password"] = _PW_CURRENT_EMPTY
    elif len(current.encode("utf-8")) > MAX_PASSWORD_BYTES:
        errors["current_password"] = _PW_CURRENT_WRONG
    if len(new) < MIN_PASSWORD_LENGTH:
        errors["new_password"] = _PW_TOO_SHORT
    elif len(new.encode("utf-8")) > MAX_PASSWORD_BYTES:
        errors["new_password"] = _PW_TOO_LONG
    elif new == current:
        errors["new_password"] = _PW_SAME
    elif again != new:
        errors["new_password_again"] = _PW_DIFFERENT
    return errors


@router.post(PASSWORD_PAGE)
def change_password(request: Request, form: SessionForm, vault: VaultDep, auth: AuthConfigDep) -> Response:
    """``authentication.change_password``: the current password checked under the login's rate limits,
    every other session ended, audited (``auth:password:changed`` / ``…:change-failed``)."""
    actor = form.user
    info = actor.info
    if not _may_change_password(info):
        return see_other("/tweede-factor")

    def typed(name: str) -> str:
        value = form.fields.get(name)
        return value if isinstance(value, str) else ""

    current, new = typed("current_password"), typed("new_password")
    errors = _password_errors(current, new, typed("new_password_again"))
    if errors:
        return _password_page(request, vault, auth, info, errors=errors, status_code=400)
    try:
        with transaction(vault.db) as session:
            changed = authn.change_password(
                session,
                actor.ctx,
                auth,
                info,
                current_password=current,
                new_password=new,
                client_address=actor.client,
            )
    except AuthFailed:
        errors = {"current_password": _PW_CURRENT_WRONG}
        return _password_page(request, vault, auth, info, errors=errors, status_code=401)
    except RateLimited as exc:
        errors = {"current_password": _PW_RATE_LIMITED}
        response = _password_page(request, vault, auth, info, errors=errors, status_code=429)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except InvalidInput:  # the service's rules, should the form's checks ever fall behind them
        errors = {"new_password": _PW_TOO_SHORT}
        return _password_page(request, vault, auth, info, errors=errors, status_code=400)
    done = see_other(f"{PASSWORD_PAGE}?gewijzigd=ja")
    set_session_cookie(done, vault, changed.token, changed.expires_at)  # the token rotates with it
    return done


@router.post("/uitloggen")
def logout(request: Request, form: SessionForm, vault: VaultDep) -> RedirectResponse:
    actor = form.user
    with transaction(vault.db) as session:
        authn.logout(session, web_context(request, vault, actor.info), actor.info)
    response = see_other("/login?reden=uitgelogd")
    clear_session_cookie(response, vault)
    return response


@router.get("/sessie/verleng")
def keep_alive(actor: WebUser) -> Response:
    """The timeout warning's "stay logged in": loading anything touches the session; nothing else."""
    return Response(status_code=204)
