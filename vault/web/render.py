"""Rendering pages: one Jinja2 environment (autoescaped), the common page values, the role's menu."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from vault import labels
from vault.domain import Role
from vault.runtime import Vault
from vault.services.directory import is_demo, usernames
from vault.web.csrf import session_token
from vault.web.session import WebActor, idle_expiry

__all__ = ["TEMPLATES", "NavItem", "home_for", "nav_for", "page", "see_other"]

TEMPLATES = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")
TEMPLATES.env.autoescape = True
TEMPLATES.env.filters["datum"] = labels.dutch_date
TEMPLATES.env.filters["datumtijd"] = labels.dutch_datetime
TEMPLATES.env.globals.update(
    rol=lambda c: labels.label(labels.ROLES, c),
    categorie=lambda c: labels.label(labels.CATEGORIES, c),
    zaaksoort=lambda c: labels.label(labels.CASE_KINDS, c),
    triage_uitkomst=lambda c: labels.label(labels.TRIAGE_OUTCOMES, c),
    organisatietype=lambda c: labels.label(labels.ORG_TYPES, c),
    grondslag=lambda c: labels.label(labels.LEGAL_BASES, c),
    relatie=lambda c: labels.label(labels.RELATIONS, c),
    beoordeling=lambda c: labels.label(labels.REVIEW_OUTCOMES, c),
    handeling=lambda c: labels.label(labels.AUDIT_TAGS, c),
    aantal=labels.count_of,
)

STAFF = {Role.MEDEWERKER.value, Role.VERTROUWENSARTS.value, Role.TEAMLEIDER.value}


@dataclass(frozen=True)
class NavItem:
    href: str
    text: str


def nav_for(role: str | None) -> list[NavItem]:
    """The role's menu; everyone who signs in also reaches their passkeys (second factors)."""
    items = _role_nav(role)
    return [*items, NavItem("/passkeys", "Passkeys")] if items else []


def _role_nav(role: str | None) -> list[NavItem]:
    if role in STAFF:
        items = [
            NavItem("/", "Mijn werk"),
            NavItem("/zaken/nieuw", "Nieuwe zaak"),
            NavItem("/verzoeken", "Verzoeken"),
        ]
        if role == Role.TEAMLEIDER:
            items.append(NavItem("/team", "Team"))
        return [*items, NavItem("/eigen-gegevens", "Eigen gegevens")]
    if role == Role.PARTNER:
        return [NavItem("/partner", "Verstrekkingen"), NavItem("/partner/geschiedenis", "Opgehaald")]
    if role == Role.PRIVACY_OFFICER:
        return [
            NavItem("/fg", "Overzicht"),
            NavItem("/fg/zoeken", "Auditlog zoeken"),
            NavItem("/fg/medewerker", "Per medewerker"),
            NavItem("/fg/toegang", "Toegangsrapport"),
            NavItem("/fg/noodtoegang", "Noodtoegang beoordelen"),
            NavItem("/fg/logcontrole", "Logcontrole"),
            NavItem("/fg/integriteit", "Integriteit"),
            NavItem("/fg/export", "Export"),
        ]
    if role == Role.ADMIN:
        return [
            NavItem("/beheer", "Gebruikers"),
            NavItem("/beheer/teams", "Teams"),
            NavItem("/beheer/organisaties", "Organisaties"),
            NavItem("/beheer/sleutels", "Sleutels"),
            NavItem("/beheer/opslag", "Opslag"),
            NavItem("/beheer/beleid", "Beleid"),
        ]
    return []


def home_for(role: str | None) -> str:
    if role == Role.PARTNER:
        return "/partner"
    if role == Role.PRIVACY_OFFICER:
        return "/fg"
    if role == Role.ADMIN:
        return "/beheer"
    return "/"


def _vault(request: Request) -> Vault:
    vault: Vault = request.app.state.vault
    return vault


def page(
    request: Request,
    template: str,
    *,
    actor: WebActor | None = None,
    csrf: str | None = None,
    status_code: int = 200,
    **values: Any,
) -> HTMLResponse:
    """Render ``template`` with the common values: menu, user, CSRF token, idle expiry, demo mark."""
    vault = _vault(request)
    common: dict[str, Any] = {
        "actor": actor,
        "nav": nav_for(actor.role if actor else None),
        "csrf_token": csrf,
        "demo": is_demo(vault),
        "path": request.url.path,
        "username": None,
        "idle_expiry": None,
        "idle_seconds": None,
        "flash_notice": labels.NOTICES.get(request.query_params.get("melding", "")),
    }
    if actor is not None:
        common["csrf_token"] = csrf or session_token(actor.auth, actor.info.session_id)
        common["username"] = usernames(vault, [actor.info.user_id]).get(actor.info.user_id)
        common["idle_expiry"] = idle_expiry(vault, actor.info).isoformat()
        common["idle_seconds"] = int((idle_expiry(vault, actor.info) - vault.clock.now()).total_seconds())
    return TEMPLATES.TemplateResponse(request, template, {**common, **values}, status_code=status_code)


def local_path(value: object, *, limit: int = 200) -> str:
    """``value`` if it is a path on this site, else ``/``: it starts with one ``/`` and holds no space,
    control character or ``\\`` (browsers drop tabs and line breaks and read ``\\`` as ``/``, so
    ``/\\t/evil.example`` would lead off the site); at most ``limit`` characters. For every redirect
    target that came from a request (``terug``) and for ``see_other``."""
    if (
        not isinstance(value, str)
        or not 0 < len(value) <= limit
        or not value.startswith("/")
        or value.startswith("//")
        or any(c <= " " or c == "\x7f" or c == "\\" for c in value)
    ):
        return "/"
    return value


def see_other(path: str, *, notice: str | None = None) -> RedirectResponse:
    """After a form post: 303 to a local path (never an absolute or protocol-relative URL).

    ``notice`` names a confirmation from ``labels.NOTICES`` that the next page shows once
    (``?melding=…``: a fixed key, never text or data of the case).
    """
    path = local_path(path, limit=4096)
    if notice is not None:
        if notice not in labels.NOTICES:
            raise ValueError(f"unknown notice {notice!r}")
        path, hash_mark, fragment = path.partition("#")
        path += ("&" if "?" in path else "?") + f"melding={notice}" + hash_mark + fragment
    return RedirectResponse(path, status_code=303)
