"""Every web page answers with the security headers: CSP without inline script, no framing, no caching;
the session cookie is HttpOnly, SameSite=Strict, Path=/ (and Secure, with the __Host- prefix, when
``cookie_secure`` is on). Walks every GET route of the web pages with a session of the right role."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from tests.web.test_admin_routes import make_admin
from tests.web.world import PASSWORD, World, csrf_of, web_login
from vault.app import create_app
from vault.context import FrozenClock
from vault.domain import reference_of
from vault.runtime import Vault
from vault.web.errors import is_api_path
from vault.web.routes import ROUTERS

NO_REQUEST = "00000000-0000-4000-8000-000000000000"  # H6: a request id that does not exist
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


def _assert_page_headers(response: object, what: str) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    assert headers.get("content-security-policy") == PAGE_CSP, what
    assert "unsafe-inline" not in headers["content-security-policy"], what
    assert headers.get("x-frame-options") == "DENY", what
    assert headers.get("cache-control") == "no-store", what
    assert headers.get("x-content-type-options") == "nosniff", what
    assert headers.get("referrer-policy") == "no-referrer", what


def _web_get_routes() -> set[str]:
    return {
        r.path
        for router in ROUTERS
        for r in router.routes
        if isinstance(r, APIRoute) and "GET" in r.methods and not is_api_path(r.path)
    }


def _h3_subject_of(vault: Vault, w: World) -> str:
    from sqlalchemy import select

    from vault.models import Subject

    with vault.db.session() as session:
        return session.scalars(select(Subject.id).where(Subject.case_id == w.case_id)).first() or ""


def _h3_consent_of(vault: Vault, w: World) -> str:
    from tests.web.world import _ctx
    from vault.services.consents import record_consent
    from vault.services.person_fields import ConsentScope, Relation

    return record_consent(
        vault,
        _ctx(vault, w.worker),
        w.case_id,
        scope=ConsentScope.REGISTER_PERSONAL_DATA,
        given_by=Relation.HELP_SEEKER,
    )


def web_pages(vault: Vault, w: World) -> dict[str, tuple[str, str, int]]:
    """Every web GET route: (who asks, a concrete path, the status expected). Also walked in the browser
    by tests/web/test_every_page.py (phone width and axe-core)."""
    return {
        # route template: (role, concrete path, expected status)
        "/login": ("anonymous", "/login", 200),
        "/tweede-factor": ("unverified", "/tweede-factor", 200),
        "/": ("worker", "/", 200),
        # H1: the reference search box goes to the case; the team caseload refuses a medewerker (403 page).
        "/zaken": ("worker", f"/zaken?zaaknummer={reference_of(w.case_id)}", 303),
        "/team": ("worker", "/team", 403),
        "/bevestigen": ("worker", "/bevestigen?terug=/", 200),
        "/passkeys": ("worker", "/passkeys", 200),
        "/herstelcodes": ("worker", "/herstelcodes", 200),
        "/wachtwoord": ("worker", "/wachtwoord", 200),
        "/sessie/verleng": ("worker", "/sessie/verleng", 204),
        "/zaken/{case_id}": ("worker", f"/zaken/{w.case_id}", 200),
        "/zaken/{case_id}/noodtoegang": ("outsider", f"/zaken/{w.case_id}/noodtoegang", 200),
        "/zaken/{case_id}/delen": ("worker", f"/zaken/{w.case_id}/delen", 200),
        # H3: people, consent, the reporter (D2, D8, D9)
        "/zaken/{case_id}/betrokkenen/nieuw": ("worker", f"/zaken/{w.case_id}/betrokkenen/nieuw", 200),
        "/zaken/{case_id}/betrokkenen/{subject_id}/corrigeren": (
            "worker",
            f"/zaken/{w.case_id}/betrokkenen/{_h3_subject_of(vault, w)}/corrigeren",
            200,
        ),
        "/zaken/{case_id}/toestemmingen/nieuw": ("worker", f"/zaken/{w.case_id}/toestemmingen/nieuw", 200),
        "/zaken/{case_id}/toestemmingen/{consent_id}/intrekken": (
            "worker",
            f"/zaken/{w.case_id}/toestemmingen/{_h3_consent_of(vault, w)}/intrekken",
            200,
        ),
        "/zaken/{case_id}/melder/toestemming": ("worker", f"/zaken/{w.case_id}/melder/toestemming", 200),
        "/zaken/{case_id}/melder/vrijgeven": ("worker", f"/zaken/{w.case_id}/melder/vrijgeven", 200),
        # H4: the case workflow
        "/zaken/{case_id}/triage": ("worker", f"/zaken/{w.case_id}/triage", 200),
        "/zaken/{case_id}/onderzoek": ("worker", f"/zaken/{w.case_id}/onderzoek", 200),
        "/zaken/{case_id}/monitoring/{monitoring_id}/uitstellen": (
            "worker",
            f"/zaken/{w.case_id}/monitoring/00000000-0000-4000-8000-000000000000/uitstellen",
            404,  # no such monitoring moment
        ),
        "/zaken/{case_id}/ambtshalve": ("worker", f"/zaken/{w.case_id}/ambtshalve", 200),
        "/zaken/{case_id}/toewijzing": ("worker", f"/zaken/{w.case_id}/toewijzing", 200),
        "/zaken/{case_id}/bewaartermijn": ("worker", f"/zaken/{w.case_id}/bewaartermijn", 200),
        "/zaken/{case_id}/aantekeningen/nieuw": ("worker", f"/zaken/{w.case_id}/aantekeningen/nieuw", 200),
        "/zaken/{case_id}/verstrekkingen/{grant_id}/intrekken": (
            "worker",
            f"/zaken/{w.case_id}/verstrekkingen/{w.grant_id}/intrekken",
            200,
        ),
        "/zaken/{case_id}/verstrekkingen/{grant_id}/verlengen": (
            "worker",
            f"/zaken/{w.case_id}/verstrekkingen/{w.grant_id}/verlengen",
            200,
        ),
        "/documenten/{document_id}/inhoud": ("worker", f"/documenten/{w.granted_doc}/inhoud", 200),
        "/partner": ("partner", "/partner", 200),
        "/partner/geschiedenis": ("partner", "/partner/geschiedenis", 200),
        "/fg": ("officer", "/fg", 200),
        "/fg/zoeken": ("officer", "/fg/zoeken", 200),
        "/fg/toegang": ("officer", "/fg/toegang", 200),
        "/fg/toegang/{case_id}": ("officer", f"/fg/toegang/{w.case_id}", 200),
        "/fg/noodtoegang": ("officer", "/fg/noodtoegang", 200),
        "/fg/logcontrole": ("officer", "/fg/logcontrole", 200),
        "/eigen-gegevens": ("worker", "/eigen-gegevens", 200),
        # H2: opening a case
        "/zaken/nieuw": ("worker", "/zaken/nieuw", 200),
        "/zaken/nieuw/melding": ("worker", "/zaken/nieuw/melding", 200),
        "/zaken/nieuw/advies-hulpvrager": ("worker", "/zaken/nieuw/advies-hulpvrager", 200),
        "/zaken/nieuw/advies-professional": ("worker", "/zaken/nieuw/advies-professional", 200),
        "/zaken/{case_id}/geopend": ("worker", f"/zaken/{w.case_id}/geopend", 200),
        "/zaken/{case_id}/eerder-advies": ("worker", f"/zaken/{w.case_id}/eerder-advies", 200),
        "/fg/logcontrole/{finding_id}": ("officer", "/fg/logcontrole/1", 404),  # no finding yet
        "/fg/integriteit": ("officer", "/fg/integriteit", 200),
        "/fg/export": ("officer", "/fg/export", 200),
        "/fg/toegang/{case_id}/bewijs": ("officer", f"/fg/toegang/{w.case_id}/bewijs", 200),
        "/fg/bewijs/{seq}": ("officer", "/fg/bewijs/1", 200),
        "/fg/medewerker": ("officer", "/fg/medewerker", 200),
        "/fg/toegang/{case_id}/pdf": ("officer", f"/fg/toegang/{w.case_id}/pdf", 200),
        "/beheer": ("admin", "/beheer", 200),
        "/beheer/gebruikers/nieuw": ("admin", "/beheer/gebruikers/nieuw", 200),
        "/beheer/gebruikers/{user_id}": ("admin", f"/beheer/gebruikers/{w.worker.user_id}", 200),
        "/beheer/gebruikers/{user_id}/tweede-factor": (
            "admin",
            f"/beheer/gebruikers/{w.worker.user_id}/tweede-factor",
            200,
        ),
        "/beheer/gebruikers/{user_id}/wachtwoord": (
            "admin",
            f"/beheer/gebruikers/{w.worker.user_id}/wachtwoord",
            200,
        ),
        "/beheer/teams": ("admin", "/beheer/teams", 200),
        "/beheer/organisaties": ("admin", "/beheer/organisaties", 200),
        "/beheer/sleutels": ("admin", "/beheer/sleutels", 200),
        "/beheer/opslag": ("admin", "/beheer/opslag", 200),
        "/beheer/beleid": ("admin", "/beheer/beleid", 200),
        # H6: subjects' rights (no request exists in this world: a request's pages answer 404)
        "/verzoeken": ("worker", "/verzoeken", 200),
        "/zaken/{case_id}/inzageverzoek": ("worker", f"/zaken/{w.case_id}/inzageverzoek", 200),
        "/zaken/{case_id}/vernietigingsverzoek": ("worker", f"/zaken/{w.case_id}/vernietigingsverzoek", 200),
        "/zaken/{case_id}/documenten/{document_id}/zienswijze": (
            "worker",
            f"/zaken/{w.case_id}/documenten/{w.withheld_doc}/zienswijze",
            200,
        ),
        "/zaken/{case_id}/vernietigingsverklaring": (
            "worker",
            f"/zaken/{w.case_id}/vernietigingsverklaring",
            404,
        ),
        "/zaken/{case_id}/vernietigingsverklaring.pdf": (
            "worker",
            f"/zaken/{w.case_id}/vernietigingsverklaring.pdf",
            404,
        ),
        "/inzageverzoeken/{request_id}": ("worker", f"/inzageverzoeken/{NO_REQUEST}", 404),
        "/inzageverzoeken/{request_id}/verlengen": (
            "worker",
            f"/inzageverzoeken/{NO_REQUEST}/verlengen",
            404,
        ),
        "/inzageverzoeken/{request_id}/beoordeling": (
            "worker",
            f"/inzageverzoeken/{NO_REQUEST}/beoordeling",
            404,
        ),
        "/inzageverzoeken/{request_id}/kopie": ("worker", f"/inzageverzoeken/{NO_REQUEST}/kopie", 404),
        "/inzageverzoeken/{request_id}/kopie.pdf": (
            "worker",
            f"/inzageverzoeken/{NO_REQUEST}/kopie.pdf",
            404,
        ),
        "/vernietigingsverzoeken/{request_id}": ("worker", f"/vernietigingsverzoeken/{NO_REQUEST}", 404),
        "/vernietigingsverzoeken/{request_id}/vernietigen": (
            "worker",
            f"/vernietigingsverzoeken/{NO_REQUEST}/vernietigen",
            404,
        ),
    }


def test_every_web_page_sends_the_security_headers(vault: Vault, clock: FrozenClock, world: World) -> None:
    w = world
    pages = web_pages(vault, w)
    people = {"worker": w.worker, "outsider": w.outsider, "partner": w.partner, "officer": w.officer}
    people["admin"] = make_admin(vault)
    clients: dict[str, TestClient] = {}
    with TestClient(create_app(vault)) as anonymous:
        assert _web_get_routes() == set(pages), "a new page needs a header check here"
        for role, person in people.items():
            client = TestClient(anonymous.app)
            web_login(client, person, clock)
            clients[role] = client
        unverified = TestClient(anonymous.app)
        page = unverified.get("/login")
        unverified.post(
            "/login",
            data={"username": w.worker.username, "password": PASSWORD, "csrf_token": csrf_of(page.text)},
        )
        clients["unverified"] = unverified
        clients["anonymous"] = anonymous
        for template, (role, path, status) in pages.items():
            response = clients[role].get(path, follow_redirects=False)
            assert response.status_code == status, (template, response.status_code)
            if template in {
                "/documenten/{document_id}/inhoud",
                "/fg/toegang/{case_id}/bewijs",
                "/fg/bewijs/{seq}",
                "/fg/toegang/{case_id}/pdf",
            }:
                # A download is no page: a stricter sandbox policy of its own, never cached.
                assert response.headers["content-security-policy"] == "sandbox; default-src 'none'"
                assert response.headers["cache-control"] == "no-store"
                assert response.headers["x-frame-options"] == "DENY"
                continue
            _assert_page_headers(response, template)
            if status == 200:
                assert '<html lang="nl">' in response.text, template
                assert "<script>" not in response.text, template
                assert " style=" not in response.text, template
        # Error pages and redirects carry them too.
        _assert_page_headers(clients["officer"].get(f"/zaken/{w.case_id}"), "error page")
        _assert_page_headers(anonymous.get("/", follow_redirects=False), "redirect to login")
        _assert_page_headers(anonymous.get("/static/vault.css"), "static file")


def _set_cookie(response: object) -> str:
    return "; ".join(response.headers.get_list("set-cookie"))  # type: ignore[attr-defined]


def test_session_cookie_flags_local_demo(vault: Vault, clock: FrozenClock, world: World) -> None:
    with TestClient(create_app(vault)) as client:
        page = client.get("/login")
        r = client.post(
            "/login",
            data={"username": world.worker.username, "password": PASSWORD, "csrf_token": csrf_of(page.text)},
            follow_redirects=False,
        )
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("vault_session="))
    lowered = cookie.lower()
    assert "httponly" in lowered
    assert "samesite=strict" in lowered
    assert "path=/" in lowered
    assert "secure" not in lowered.replace("httponly", "")  # cookie_secure=False only for the demo


def test_session_cookie_flags_secure(vault: Vault, clock: FrozenClock, world: World) -> None:
    secure = dataclasses.replace(vault, settings=vault.settings.model_copy(update={"cookie_secure": True}))
    with TestClient(create_app(secure), base_url="https://testserver") as client:
        page = client.get("/login")
        nonce_cookie = _set_cookie(page).lower()
        assert "secure" in nonce_cookie
        assert "samesite=strict" in nonce_cookie
        assert "httponly" in nonce_cookie
        r = client.post(
            "/login",
            data={"username": world.worker.username, "password": PASSWORD, "csrf_token": csrf_of(page.text)},
            follow_redirects=False,
        )
        assert r.status_code == 303
        cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("__Host-vault_session="))
        lowered = cookie.lower()
        assert "secure" in lowered
        assert "httponly" in lowered
        assert "samesite=strict" in lowered
        assert "path=/" in lowered
        assert "domain=" not in lowered


@pytest.fixture
def worker_client(vault: Vault, clock: FrozenClock, world: World) -> Iterator[TestClient]:
    with TestClient(create_app(vault)) as client:
        web_login(client, world.worker, clock)
        yield client


def test_form_post_without_token_is_refused(worker_client: TestClient, world: World) -> None:
    r = worker_client.post("/uitloggen", data={}, follow_redirects=False)
    assert r.status_code == 403
    assert "Verzoek geweigerd" in r.text
    assert worker_client.get("/", follow_redirects=False).status_code == 200  # still logged in


def test_form_post_from_another_origin_is_refused(worker_client: TestClient, world: World) -> None:
    page = worker_client.get("/")
    r = worker_client.post(
        "/uitloggen",
        data={"csrf_token": csrf_of(page.text)},
        headers={"Origin": "http://127.0.0.1:9", "Sec-Fetch-Site": "same-site"},
        follow_redirects=False,
    )
    assert r.status_code == 403
    assert worker_client.get("/", follow_redirects=False).status_code == 200


def test_api_errors_stay_json(worker_client: TestClient) -> None:
    r = worker_client.get("/api/v1/partner/inbox")
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/json")


def test_page_errors_are_dutch_html_without_traceback(worker_client: TestClient) -> None:
    r = worker_client.get("/zaken/00000000-0000-4000-8000-000000000000")
    assert r.status_code in {403, 404}
    assert r.headers["content-type"].startswith("text/html")
    assert "Traceback" not in r.text
    assert "Niet gevonden" in r.text or "Geen toegang" in r.text
