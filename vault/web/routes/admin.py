"""The administrator (issue 18): accounts, teams, organisations, key status, blob-store check, policy
status. Never case content. Every page and action calls a service that refuses anyone but an
administrator (``accounts.require_administrator``); paths carry ids, pages show names.

Creating an account, changing its role or teams, disabling it and resetting its second factor need a
recent step-up (the services check it, ``accounts.require_step_up``): a form sent when it has lapsed is
carried through the step-up page (``vault.web.errors``) and sent on with one click."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from vault.domain import AuditTag, OrgType, Role
from vault.errors import Conflict, InvalidInput, NotFound
from vault.http.deps import VaultDep
from vault.http.params import UUID_PATTERN
from vault.labels import count_of
from vault.services import accounts, admin_views
from vault.services.authentication import passkey_policy
from vault.transaction import transaction
from vault.web.csrf import VerifiedForm
from vault.web.render import page, see_other
from vault.web.session import WebActor, WebUser

router = APIRouter(prefix="/beheer", include_in_schema=False)

UserId = Annotated[str, Path(pattern=UUID_PATTERN, max_length=36)]
Done = Annotated[str | None, Query(max_length=16)]
# D16: how many case assignments disabling or a role change out of staff ended (a number, never a case).
Ended = Annotated[int | None, Query(ge=0, le=1_000_000)]

# The confirmation after each action (a fixed code in the redirect; never a name in the URL).
_DONE = {
    "rol": "De rol is gewijzigd. De gebruiker is afgemeld en heeft de nieuwe rol vanaf de volgende "
    "aanmelding.",
    "team-erbij": "De gebruiker is aan het team toegevoegd.",
    "team-eraf": "De gebruiker is uit het team gehaald. Toegang tot de zaken van dat team stopt meteen, ook "
    "tot de zaken waaraan de gebruiker was toegewezen.",
    "niets": "Er was niets te wijzigen.",
    "uit": "Het account is uitgeschakeld en alle sessies zijn beëindigd.",
    "aan": "Het account is weer ingeschakeld. De gebruiker meldt zich aan met het eigen wachtwoord en de "
    "eigen tweede factor, en heeft nog geen zaken toegewezen.",
    "reset": "De tweede factor is opnieuw ingesteld. De gebruiker is afgemeld, krijgt daar bij de volgende "
    "aanmelding een melding over en stelt de tweede factor opnieuw in.",
    "passkey": "De passkey is ingetrokken. De gebruiker is afgemeld en krijgt daar bij de volgende "
    "aanmelding een melding over.",
    "team": "Het team is aangemaakt.",
    "org": "De organisatie is aangemaakt.",
}


# D21, D16: why the last privacy officer or administrator keeps their account (``accounts.LAST_OF_ROLE``).
_LAST = {
    "last-privacy-officer": "Dit is de laatste functionaris gegevensbescherming met een actief account. Wijs "
    "eerst een andere functionaris gegevensbescherming aan; zonder hen controleert niemand het logboek.",
    "last-administrator": "Dit is de laatste beheerder met een actief account. Maak eerst een andere "
    "beheerder aan.",
}


def _last_of_role(exc: Conflict) -> str:
    return _LAST.get(exc.rule or "", "Dit account kan nu niet worden gewijzigd.")


def _done(code: str | None, ended: int | None = None) -> str | None:
    message = _DONE.get(code or "")
    if message is None or ended is None or code not in {"uit", "rol"}:
        return message
    return f"{message} {count_of(ended, 'toewijzing', 'toewijzingen')} aan zaken beëindigd."


def _username_error(value: str) -> str | None:
    try:
        accounts.normalise_username(value)
    except InvalidInput:
        return (
            "Vul een gebruikersnaam in van 1 tot 64 tekens: kleine letters, cijfers, punt, liggend streepje "
            "of koppelteken, beginnend met een letter of cijfer."
        )
    return None


# -- accounts ---------------------------------------------------------------------------------------


@router.get("")
def users(request: Request, vault: VaultDep, actor: WebUser, gedaan: Done = None) -> HTMLResponse:
    with transaction(vault.db) as session:
        rows = admin_views.list_accounts(session, actor.ctx)
    return page(request, "admin_users.html", actor=actor, users=rows, done=_done(gedaan))


def _new_user_form(
    request: Request,
    vault: VaultDep,
    actor: WebActor,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    with transaction(vault.db) as session:
        teams = admin_views.list_teams(session, actor.ctx)
        orgs = admin_views.list_organisations(session, actor.ctx)
    return page(
        request,
        "admin_user_new.html",
        actor=actor,
        roles=list(Role),
        teams=teams,
        orgs=orgs,
        values=values or {},
        errors=errors or {},
        status_code=status_code,
    )


@router.get("/gebruikers/nieuw")
def new_user_form(request: Request, vault: VaultDep, actor: WebUser) -> HTMLResponse:
    """The step-up is asked before the form is filled (a lapse while typing carries the form); only of an
    administrator: anyone else is refused first (403, audited), never asked for a code."""
    admin_views.check_administrator(vault, actor.ctx)
    accounts.require_step_up(actor.ctx, vault.settings.step_up_minutes)
    return _new_user_form(request, vault, actor)


@router.post("/gebruikers/nieuw")
def create_user(request: Request, vault: VaultDep, form: VerifiedForm) -> HTMLResponse:
    """Create an account; its one-time initial password is shown once, on this answer only."""
    actor = form.user
    values = {k: form.text(k, limit=128) for k in ("username", "role", "team", "org")}
    errors: dict[str, str] = {}
    if message := _username_error(values["username"]):
        errors["username"] = message
    role = Role(values["role"]) if values["role"] in set(Role) else None
    if role is None:
        errors["role"] = "Kies een rol."
    elif role.is_staff and not values["team"]:
        errors["team"] = "Kies een team: medewerkers, vertrouwensartsen en teamleiders horen bij een team."
    elif role is Role.PARTNER and not values["org"]:
        errors["org"] = "Kies een organisatie: een partneraccount hoort bij een organisatie."
    elif values["org"] and role not in {Role.PARTNER, Role.PROFESSIONAL}:
        errors["org"] = "Alleen partner- en professionalaccounts horen bij een organisatie."
    elif values["team"] and not role.is_staff:
        errors["team"] = (
            "Alleen medewerkers, vertrouwensartsen en teamleiders horen bij een team. Laat het team leeg."
        )
    if not errors:
        try:
            with transaction(vault.db) as session:
                created = accounts.create_user(
                    session,
                    actor.ctx,
                    actor.auth,
                    username=values["username"],
                    role=values["role"],
                    team=values["team"] or None,
                    org=values["org"] or None,
                    step_up_minutes=vault.settings.step_up_minutes,
                )
        except Conflict:
            errors["username"] = "Deze gebruikersnaam is al in gebruik. Kies een andere."
        except (InvalidInput, NotFound):
            errors["role"] = "Deze combinatie van rol, team en organisatie is niet mogelijk."
    if errors:
        return _new_user_form(request, vault, actor, values=values, errors=errors, status_code=400)
    days = vault.settings.generated_password_days
    return page(request, "admin_user_created.html", actor=actor, created=created, reset=False, days=days)


def _user_page(
    request: Request,
    vault: VaultDep,
    actor: WebActor,
    user_id: str,
    *,
    done: str | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    with transaction(vault.db) as session:
        row = admin_views.account(session, actor.ctx, user_id)
        teams = admin_views.list_teams(session, actor.ctx)
        keys = passkey_policy.user_passkeys(session, actor.ctx, row.username)
    return page(
        request,
        "admin_user.html",
        actor=actor,
        user=row,
        passkeys=keys,
        roles=list(Role),
        teams=teams,
        is_self=row.id == actor.info.user_id,
        done=done,
        errors=errors or {},
        status_code=status_code,
    )


@router.get("/gebruikers/{user_id}")
def user_detail(
    request: Request,
    user_id: UserId,
    vault: VaultDep,
    actor: WebUser,
    gedaan: Done = None,
    toewijzingen: Ended = None,
) -> HTMLResponse:
    return _user_page(request, vault, actor, user_id, done=_done(gedaan, toewijzingen))


def _username(vault: VaultDep, actor: WebActor, user_id: str) -> str:
    with transaction(vault.db) as session:
        return admin_views.account(session, actor.ctx, user_id).username


@router.post("/gebruikers/{user_id}/rol")
def change_role(request: Request, user_id: UserId, vault: VaultDep, form: VerifiedForm) -> Response:
    actor = form.user
    username = _username(vault, actor, user_id)
    role = form.text("role", limit=32)
    try:
        with transaction(vault.db) as session:
            # D16: a role out of staff ends them all
            ended = accounts.assignment_count(session, actor.ctx, username, AuditTag.ADMIN_ROLE_CHANGED)
            changed = accounts.change_role(
                session,
                actor.ctx,
                username=username,
                role=role,
                step_up_minutes=vault.settings.step_up_minutes,
            )
    except InvalidInput:
        error = (
            "Deze rol kan niet: medewerkers, vertrouwensartsen en teamleiders horen bij een team, andere "
            "rollen niet (haal het account eerst uit zijn teams), een partner hoort bij een organisatie, "
            "en u wijzigt uw eigen rol niet."
        )
        return _user_page(request, vault, actor, user_id, errors={"role": error}, status_code=400)
    except Conflict as exc:
        return _user_page(
            request, vault, actor, user_id, errors={"role": _last_of_role(exc)}, status_code=409
        )
    if not changed:
        return see_other(f"/beheer/gebruikers/{user_id}?gedaan=niets")
    ended = 0 if Role(role).is_staff else ended
    return see_other(f"/beheer/gebruikers/{user_id}?gedaan=rol&toewijzingen={ended}")


@router.post("/gebruikers/{user_id}/teams")
def change_team(request: Request, user_id: UserId, vault: VaultDep, form: VerifiedForm) -> Response:
    actor = form.user
    username = _username(vault, actor, user_id)
    team = form.text("team", limit=128)
    member = form.text("change", limit=8) != "eraf"
    try:
        with transaction(vault.db) as session:
            changed = accounts.change_membership(
                session,
                actor.ctx,
                team=team,
                username=username,
                member=member,
                step_up_minutes=vault.settings.step_up_minutes,
            )
    except (InvalidInput, NotFound):
        error = "Kies een team. Alleen medewerkers, vertrouwensartsen en teamleiders horen bij een team."
        return _user_page(request, vault, actor, user_id, errors={"team": error}, status_code=400)
    code = ("team-erbij" if member else "team-eraf") if changed else "niets"
    return see_other(f"/beheer/gebruikers/{user_id}?gedaan={code}")


@router.post("/gebruikers/{user_id}/uitschakelen")
def disable(request: Request, user_id: UserId, vault: VaultDep, form: VerifiedForm) -> Response:
    actor = form.user
    username = _username(vault, actor, user_id)
    if form.text("uitschakelen", limit=8) != "ja":  # the box that says it is meant
        error = "Vink aan dat u dit account wilt uitschakelen."
        return _user_page(request, vault, actor, user_id, errors={"disable": error}, status_code=400)
    try:
        with transaction(vault.db) as session:
            # D16: disabling ends them all
            ended = accounts.assignment_count(session, actor.ctx, username, AuditTag.ADMIN_USER_DISABLED)
            accounts.disable_user(
                session, actor.ctx, username, step_up_minutes=vault.settings.step_up_minutes
            )
    except InvalidInput:
        error = "U kunt uw eigen account niet uitschakelen."
        return _user_page(request, vault, actor, user_id, errors={"disable": error}, status_code=400)
    except Conflict as exc:
        errors = {"disable": _last_of_role(exc)}
        return _user_page(request, vault, actor, user_id, errors=errors, status_code=409)
    return see_other(f"/beheer/gebruikers/{user_id}?gedaan=uit&toewijzingen={ended}")


@router.post("/gebruikers/{user_id}/inschakelen")
def enable(request: Request, user_id: UserId, vault: VaultDep, form: VerifiedForm) -> Response:
    """Enable a disabled account again (step-up, audited ``admin:user:enabled``)."""
    actor = form.user
    username = _username(vault, actor, user_id)
    with transaction(vault.db) as session:
        changed = accounts.enable_user(
            session, actor.ctx, username, step_up_minutes=vault.settings.step_up_minutes
        )
    return see_other(f"/beheer/gebruikers/{user_id}?gedaan={'aan' if changed else 'niets'}")


@router.get("/gebruikers/{user_id}/tweede-factor")
def reset_confirm(request: Request, user_id: UserId, vault: VaultDep, actor: WebUser) -> HTMLResponse:
    """Ask before resetting; the reset needs a recent second-factor check (step-up) of the administrator."""
    admin_views.check_administrator(vault, actor.ctx)  # permission first, then the step-up
    accounts.require_step_up(actor.ctx, vault.settings.step_up_minutes)
    with transaction(vault.db) as session:
        row = admin_views.account(session, actor.ctx, user_id)
    return page(request, "admin_reset.html", actor=actor, user=row, is_self=row.id == actor.info.user_id)


@router.post("/gebruikers/{user_id}/tweede-factor")
def reset(user_id: UserId, vault: VaultDep, form: VerifiedForm) -> Response:
    actor = form.user
    username = _username(vault, actor, user_id)
    with transaction(vault.db) as session:
        accounts.reset_second_factor(
            session, actor.ctx, username, step_up_minutes=vault.settings.step_up_minutes
        )
    return see_other(f"/beheer/gebruikers/{user_id}?gedaan=reset")


@router.get("/gebruikers/{user_id}/wachtwoord")
def password_confirm(request: Request, user_id: UserId, vault: VaultDep, actor: WebUser) -> HTMLResponse:
    """Ask before giving a new password; that needs a recent step-up of the administrator."""
    admin_views.check_administrator(vault, actor.ctx)  # permission first, then the step-up
    accounts.require_step_up(actor.ctx, vault.settings.step_up_minutes)
    with transaction(vault.db) as session:
        row = admin_views.account(session, actor.ctx, user_id)
    return page(
        request,
        "admin_password.html",
        actor=actor,
        user=row,
        is_self=row.id == actor.info.user_id,
        days=vault.settings.generated_password_days,
    )


@router.post("/gebruikers/{user_id}/wachtwoord")
def password_reset(request: Request, user_id: UserId, vault: VaultDep, form: VerifiedForm) -> Response:
    """A new one-time password, shown once on the answer (as for a new account); sessions end."""
    actor = form.user
    username = _username(vault, actor, user_id)
    with transaction(vault.db) as session:
        reset = accounts.reset_password(
            session, actor.ctx, actor.auth, username, step_up_minutes=vault.settings.step_up_minutes
        )
    return page(
        request,
        "admin_user_created.html",
        actor=actor,
        created=reset,
        reset=True,
        days=vault.settings.generated_password_days,
    )


@router.post("/gebruikers/{user_id}/passkeys/{passkey_id}/intrekken")
def revoke_passkey(user_id: UserId, passkey_id: UserId, vault: VaultDep, form: VerifiedForm) -> Response:
    """A lost or suspect passkey: revoked (kept as revoked), the user's sessions end, and the user is
    told at the next sign-in. Needs a recent step-up of the administrator (checked by the service)."""
    actor = form.user
    username = _username(vault, actor, user_id)
    with transaction(vault.db) as session:
        passkey_policy.revoke_passkey(
            session, actor.ctx, username, passkey_id, step_up_minutes=vault.settings.step_up_minutes
        )
    return see_other(f"/beheer/gebruikers/{user_id}?gedaan=passkey")


# -- teams and organisations ------------------------------------------------------------------------


def _teams_page(
    request: Request, vault: VaultDep, actor: WebActor, *, status_code: int = 200, **values: Any
) -> HTMLResponse:
    with transaction(vault.db) as session:
        teams = admin_views.list_teams(session, actor.ctx)
    values.setdefault("errors", {})
    values.setdefault("values", {})
    return page(request, "admin_teams.html", actor=actor, teams=teams, status_code=status_code, **values)


@router.get("/teams")
def teams(request: Request, vault: VaultDep, actor: WebUser, gedaan: Done = None) -> HTMLResponse:
    return _teams_page(request, vault, actor, done=_done(gedaan))


@router.post("/teams")
def create_team(request: Request, vault: VaultDep, form: VerifiedForm) -> Response:
    actor = form.user
    name = form.text("name", limit=200)
    try:
        with transaction(vault.db) as session:
            accounts.create_team(session, actor.ctx, name)
    except (InvalidInput, Conflict) as exc:
        error = (
            "Er bestaat al een team met deze naam."
            if isinstance(exc, Conflict)
            else "Vul een naam in van 1 tot 128 tekens."
        )
        return _teams_page(
            request, vault, actor, errors={"name": error}, values={"name": name}, status_code=400
        )
    return see_other("/beheer/teams?gedaan=team")


def _orgs_page(
    request: Request, vault: VaultDep, actor: WebActor, *, status_code: int = 200, **values: Any
) -> HTMLResponse:
    with transaction(vault.db) as session:
        orgs = admin_views.list_organisations(session, actor.ctx)
    values.setdefault("errors", {})
    values.setdefault("values", {})
    return page(
        request,
        "admin_orgs.html",
        actor=actor,
        orgs=orgs,
        org_types=list(OrgType),
        status_code=status_code,
        **values,
    )


@router.get("/organisaties")
def organisations(request: Request, vault: VaultDep, actor: WebUser, gedaan: Done = None) -> HTMLResponse:
    return _orgs_page(request, vault, actor, done=_done(gedaan))


@router.post("/organisaties")
def create_organisation(request: Request, vault: VaultDep, form: VerifiedForm) -> Response:
    actor = form.user
    values = {"name": form.text("name", limit=200), "org_type": form.text("org_type", limit=32)}
    errors: dict[str, str] = {}
    if not values["name"] or len(values["name"]) > 128:
        errors["name"] = "Vul een naam in van 1 tot 128 tekens."
    if values["org_type"] not in set(OrgType):
        errors["org_type"] = "Kies het soort organisatie."
    if not errors:
        try:
            with transaction(vault.db) as session:
                accounts.create_organisation(session, actor.ctx, values["name"], values["org_type"])
        except Conflict:
            errors["name"] = "Er bestaat al een organisatie met deze naam."
        except InvalidInput:
            errors["name"] = "Vul een naam in van 1 tot 128 tekens."
    if errors:
        return _orgs_page(request, vault, actor, errors=errors, values=values, status_code=400)
    return see_other("/beheer/organisaties?gedaan=org")


# -- operational status -----------------------------------------------------------------------------


@router.get("/sleutels")
def keys(request: Request, vault: VaultDep, actor: WebUser) -> HTMLResponse:
    return page(request, "admin_keys.html", actor=actor, keys=admin_views.key_overview(vault, actor.ctx))


@router.get("/opslag")
def blobs(request: Request, vault: VaultDep, actor: WebUser) -> HTMLResponse:
    admin_views.check_administrator(vault, actor.ctx)
    return page(request, "admin_blobs.html", actor=actor, result=None)


@router.post("/opslag")
def check_blobs(request: Request, vault: VaultDep, form: VerifiedForm) -> HTMLResponse:
    actor = form.user
    result = admin_views.blob_check(vault, actor.ctx)
    return page(request, "admin_blobs.html", actor=actor, result=result)


@router.get("/beleid")
def policy(request: Request, vault: VaultDep, actor: WebUser) -> HTMLResponse:
    return page(request, "admin_policy.html", actor=actor, policy=admin_views.policy_status(vault, actor.ctx))
