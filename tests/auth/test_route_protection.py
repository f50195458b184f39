"""D17: no case, document, disclosure, audit or admin route answers an anonymous caller or a session
whose second factor is not verified. Routes are discovered from the app, so later routes are covered."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from tests.auth.conftest import Account, bearer, login
from vault.api.app import create_app
from vault.api.deps import request_context, verified_actor
from vault.errors import AuthFailed
from vault.runtime import Vault
from vault.services.authentication import SessionInfo

PROTECTED = re.compile(
    r"^/api/v1/(cases|documents|disclosures|audit|admin|partner|privacy|grants|keys|persons)(/|$)"
)
PLACEHOLDER = "00000000-0000-4000-8000-000000000000"


def _protected_routes(app: FastAPI) -> list[tuple[str, str]]:
    found = []
    for path, item in app.openapi().get("paths", {}).items():
        if PROTECTED.match(path):
            found.extend(
                (method.upper(), path)
                for method in item
                if method in {"get", "post", "put", "patch", "delete"}
            )
    return sorted(found)


def _bare_app() -> FastAPI:
    """The app's routers without opening a vault (routes are static)."""
    import importlib
    import pkgutil

    from fastapi import APIRouter

    import vault.api as api_pkg

    app = FastAPI()
    for module_info in pkgutil.iter_modules(api_pkg.__path__):
        module = importlib.import_module(f"vault.api.{module_info.name}")
        router = getattr(module, "router", None)
        if isinstance(router, APIRouter):
            app.include_router(router)
    return app


ROUTES = _protected_routes(_bare_app())  # collected without opening a vault


@pytest.fixture
def app_client(vault: Vault) -> Iterator[TestClient]:
    with TestClient(create_app(vault)) as c:
        yield c


def _call(client: TestClient, method: str, path: str, headers: dict[str, str]) -> int:
    url = re.sub(r"\{[^}]+\}", PLACEHOLDER, path)
    kwargs: dict[str, object] = {"headers": headers}
    if method in {"POST", "PUT", "PATCH"}:
        kwargs["json"] = {}
    return client.request(method, url, **kwargs).status_code  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("method", "path"), ROUTES or [pytest.param("GET", "-", marks=pytest.mark.skip("none yet"))]
)
def test_d17_protected_route_refuses_anonymous_and_unverified_sessions(
    method: str, path: str, app_client: TestClient, anna: Account
) -> None:
    assert _call(app_client, method, path, {}) in {401, 403}
    assert _call(app_client, method, path, {"Authorization": "Bearer not-a-token"}) in {401, 403}
    login(app_client, anna)  # password only: second factor not verified
    assert _call(app_client, method, path, bearer(anna.token)) in {401, 403}


def _calls(dependant: Dependant) -> Iterator[object]:
    for dep in dependant.dependencies:
        yield dep.call
        yield from _calls(dep)


def test_d17_every_protected_route_depends_on_verified_actor(vault: Vault) -> None:
    app = create_app(vault)
    for route in app.routes:
        if isinstance(route, APIRoute) and PROTECTED.match(route.path):
            assert verified_actor in set(_calls(route.dependant)), route.path


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
