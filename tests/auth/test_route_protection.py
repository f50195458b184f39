"""D17: no route answers an anonymous caller or a session whose second factor is not verified — except
the ones named below. Routes are walked from the app itself (``vault.app.create_app``: API, web pages,
public forms), so a route added later is protected, or named here as an exception, or a test fails."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from starlette.routing import BaseRoute

from tests.auth.conftest import Account, bearer, login
from vault.app import create_app
from vault.errors import AuthFailed
from vault.http.deps import request_context, verified_actor
from vault.runtime import Vault
from vault.services.authentication import SessionInfo
from vault.web.csrf import verified_form, verified_header
from vault.web.session import web_user

PLACEHOLDER = "00000000-0000-4000-8000-000000000000"

# No session at all: probes, the schema, static files, logging in, and the public intake forms.
PUBLIC: frozenset[tuple[str, str]] = frozenset(
    {
        ("GET", "/openapi.json"),
        ("MOUNT", "/static"),
        ("GET", "/healthz"),
        ("GET", "/readyz"),
        ("POST", "/api/v1/auth/login"),
        ("GET", "/login"),
        ("POST", "/login"),
        # The public report and advice forms (docs/intake.md): anyone may file a report.
        ("GET", "/melden"),
        ("GET", "/advies"),
        ("GET", "/wis-geschiedenis"),
        ("GET", "/formulier/uitdaging"),
        ("GET", "/melden/professional"),
        ("GET", "/melden/burger"),
        ("GET", "/advies/professional"),
        ("GET", "/advies/burger"),
        ("POST", "/melden/professional"),
        ("POST", "/melden/burger"),
        ("POST", "/advies/professional"),
        ("POST", "/advies/burger"),
    }
)
# A session that passed its password but not yet its second factor: the steps that pass it, and logout.
BEFORE_SECOND_FACTOR: frozenset[tuple[str, str]] = frozenset(
    {
        ("POST", "/api/v1/auth/totp/enrol"),
        ("POST", "/api/v1/auth/totp/verify"),
        ("POST", "/api/v1/auth/recovery/verify"),
        ("POST", "/api/v1/auth/logout"),
        ("GET", "/tweede-factor"),
        ("POST", "/tweede-factor/instellen"),
        ("POST", "/tweede-factor"),
        ("POST", "/tweede-factor/herstelcode"),
        ("POST", "/uitloggen"),
        # Passkeys (docs/security.md "Second factors"): signing in with one, and registering one in the
        # enrolment window of a role that needs a passkey (the services refuse any other unverified
        # session; tests/auth/test_passkeys.py).
        ("POST", "/api/v1/auth/passkeys/register/options"),
        ("POST", "/api/v1/auth/passkeys/register"),
        ("POST", "/api/v1/auth/passkeys/login/options"),
        ("POST", "/api/v1/auth/passkeys/login"),
        ("GET", "/passkeys"),
        ("POST", "/passkeys/registratie/opties"),
        ("POST", "/passkeys/registratie"),
        ("POST", "/passkeys/aanmelden/opties"),
        ("POST", "/passkeys/aanmelden"),
    }
)
# A session that passed its second factor, or one held after it until its user replaces a generated
# password (docs/security.md "Initial passwords"): changing the password. The service refuses any other
# session (tests/auth/test_password_change.py); the page sends one to the second factor.
PASSWORD_CHANGE: frozenset[tuple[str, str]] = frozenset(
    {
        ("POST", "/api/v1/auth/password"),
        ("GET", "/wachtwoord"),
        ("POST", "/wachtwoord"),
    }
)
# Protected, but the check runs in the body rather than as a dependency (streamed bodies, the hot
# path); the calls in test_d17_protected_route_refuses_anonymous_and_unverified_sessions prove them.
CHECKED_IN_BODY: frozenset[tuple[str, str]] = frozenset(
    {
        ("GET", "/api/v1/documents/{document_id}/content"),  # verified_context_in, per request
        ("GET", "/documenten/{document_id}/inhoud"),  # web_actor_in, in the download's own job
        ("POST", "/zaken/{case_id}/documenten"),  # web_user / verified_header before the stream
        ("POST", "/zaken/{case_id}/documenten/{document_id}/zienswijze"),  # web_user before the stream
    }
)
# What a protected route depends on: the API's verified session, or the web's.
GUARDS = frozenset({verified_actor, web_user, verified_form, verified_header})


def registered_routes(app: FastAPI) -> Iterator[tuple[str, str, BaseRoute]]:
    """Every (method, path, route) the app serves, through every included router."""
    for context in iter_route_contexts(app.routes):
        path = context.path or ""
        route = context.original_route
        methods = sorted((context.methods or set()) - {"HEAD"})
        if not methods:
            yield "MOUNT", path, route
        for method in methods:
            yield method, path, route


@pytest.fixture
def app(vault: Vault) -> FastAPI:
    return create_app(vault)


@pytest.fixture
def app_client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


def _protected(app: FastAPI) -> list[tuple[str, str]]:
    exceptions = PUBLIC | BEFORE_SECOND_FACTOR
    return sorted((m, p) for m, p, _ in registered_routes(app) if (m, p) not in exceptions)


def test_d17_the_named_exceptions_are_real_routes(app: FastAPI) -> None:
    served = {(m, p) for m, p, _ in registered_routes(app)}
    assert not (PUBLIC | BEFORE_SECOND_FACTOR | CHECKED_IN_BODY | PASSWORD_CHANGE) - served
    assert len(_protected(app)) > 60  # the walk reaches the included routers


def _calls(dependant: Dependant) -> Iterator[object]:
    for dep in dependant.dependencies:
        yield dep.call
        yield from _calls(dep)


def test_d17_every_protected_route_depends_on_a_verified_session(app: FastAPI) -> None:
    unguarded = []
    for method, path, route in registered_routes(app):
        if (method, path) in PUBLIC | BEFORE_SECOND_FACTOR | CHECKED_IN_BODY | PASSWORD_CHANGE:
            continue
        if not isinstance(route, APIRoute) or not GUARDS & set(_calls(route.dependant)):
            unguarded.append((method, path))
    assert unguarded == []


def _url(path: str) -> str:
    return re.sub(r"\{[^}]+\}", PLACEHOLDER, path)


def _refused(client: TestClient, method: str, path: str, headers: dict[str, str]) -> str | None:
    """None when the call is refused (401/403, or a page's redirect to logging in); else what came."""
    kwargs: dict[str, object] = {"headers": headers, "follow_redirects": False}
    if method in {"POST", "PUT", "PATCH"}:
        kwargs["json"] = {}
    r = client.request(method, _url(path), **kwargs)  # type: ignore[arg-type]
    if r.status_code in {401, 403}:
        return None
    if r.status_code in {302, 303, 307} and r.headers["location"].startswith(("/login", "/tweede-factor")):
        return None
    return f"{method} {path}: {r.status_code}"


def _web_password_only(app: FastAPI, account: Account) -> TestClient:
    """A browser session that passed the password form, not the second factor."""
    client = TestClient(app)
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    r = client.post(
        "/login",
        data={"username": account.username, "password": account.password, "csrf_token": token.group(1)},
        headers={"Sec-Fetch-Site": "same-origin"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return client


def test_d17_protected_route_refuses_anonymous_and_unverified_sessions(
    app: FastAPI, app_client: TestClient, anna: Account
) -> None:
    login(app_client, anna)  # password only: second factor not verified
    browser = _web_password_only(app, anna)
    answered = []
    for method, path in _protected(app):
        answered += [
            _refused(app_client, method, path, {}),
            _refused(app_client, method, path, {"Authorization": "Bearer not-a-token"}),
            _refused(app_client, method, path, bearer(anna.token)),
            _refused(browser, method, path, {}),
        ]
    assert [a for a in answered if a] == []


def test_d17_request_context_depends_on_verified_actor() -> None:
    from fastapi.dependencies.utils import get_dependant

    dependant = get_dependant(path="/x", call=request_context)
    assert verified_actor in set(_calls(dependant))


def test_d17_verified_actor_refuses_an_unverified_session() -> None:
    from datetime import UTC, datetime

    info = SessionInfo("s", "u", "medewerker", None, False, True, None, datetime.now(UTC))
    with pytest.raises(AuthFailed):
        verified_actor(info)
    verified = SessionInfo("s", "u", "medewerker", None, True, True, datetime.now(UTC), datetime.now(UTC))
    assert verified_actor(verified) is verified
