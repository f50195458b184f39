"""Errors on web pages: a Dutch message page (no traceback) with the API's status code.

The API's handlers (``vault.http.errors``) stay the one mapping from domain error to status code; this
module wraps them: for a path under /api (or the health probes) the JSON answer is returned as is,
for a page the same status is rendered as HTML. A missing or expired session becomes a redirect to
the login page, an unverified one to the second-factor page, a missing step-up to the step-up page (a
form's typed fields carried through it).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from urllib.parse import quote, urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from vault import errors
from vault.services.copy_kind import COPY_REFUSED
from vault.services.destruction_ends import ACCESS_REQUEST_OPEN
from vault.services.read_failures import STORE_READ_FAILED
from vault.web.csrf import CsrfRefused
from vault.web.public.routes import is_public_path, public_error_page
from vault.web.render import local_path, page
from vault.web.session import FETCH_SITE, LoginRequired, SecondFactorRequired, WebActor, clear_session_cookie

__all__ = ["install_web_errors", "is_api_path"]

Handler = Callable[[Request, Exception], Awaitable[Response]]

_MESSAGES = {
    400: ("De invoer is niet geldig", "Controleer wat u heeft ingevuld en probeer het opnieuw."),
    401: ("U bent niet aangemeld", "Meld u opnieuw aan om verder te gaan."),
    403: ("Geen toegang", "U heeft geen toegang tot deze gegevens. Deze poging is vastgelegd."),
    404: (
        "Niet gevonden",
        "Deze pagina, zaak of dit document bestaat niet, of u heeft er geen toegang toe.",
    ),
    405: ("Niet toegestaan", "Deze handeling is op deze pagina niet mogelijk."),
    409: ("Dit kan nu niet", "De gegevens zijn intussen gewijzigd of deze handeling is al gedaan."),
    410: ("Zaak vernietigd", "Deze zaak is vernietigd; de inhoud kan niet meer worden gelezen."),
    413: ("Bestand te groot", "Het bestand is groter dan is toegestaan."),
    422: ("Formulier onvolledig", "Het formulier is niet volledig of niet goed ingevuld."),
    429: ("Te veel pogingen", "Wacht enkele minuten en probeer het dan opnieuw."),
    500: ("Er ging iets mis", "Er is een fout opgetreden. Er zijn geen gegevens vrijgegeven."),
    503: ("Tijdelijk niet beschikbaar", "De dossierkluis is tijdelijk niet beschikbaar."),
}
_CSRF_MESSAGE = (
    "Verzoek geweigerd",
    "Dit verzoek kwam niet van een pagina van de dossierkluis, of het formulier is verlopen. "
    "Er is niets gewijzigd. Ga terug, laad de pagina opnieuw en probeer het nog eens.",
)
_COPY_REFUSED_MESSAGE = (
    "Dit document kan niet worden verstrekt",
    "Dit bestand kan gegevens over de maker, de plaats of eerdere versies bevatten die niet voor u "
    "bedoeld zijn, en de dossierkluis kan die er niet uit halen. Vraag uw contactpersoon bij Veilig "
    "Thuis om het als PDF, JPEG of PNG te delen. Deze poging is vastgelegd.",
)
# A refusal whose rule the page answers in its own words.
_RULE_MESSAGES = {
    COPY_REFUSED: _COPY_REFUSED_MESSAGE,
    ACCESS_REQUEST_OPEN: (
        "Eerst het inzageverzoek afhandelen",
        "Over deze zaak loopt een inzageverzoek dat nog niet is afgehandeld. Handel dat eerst af: "
        "na de vernietiging kan het niet meer worden beantwoord. Er is niets vernietigd.",
    ),
    STORE_READ_FAILED: (
        "Document niet opgehaald",
        "De opslag van de dossierkluis gaf het document niet af. Er is niets verstuurd; een ophaling "
        "die hiervoor was geteld, is teruggegeven zolang de verstrekking nog loopt. Probeer het over "
        "enkele minuten opnieuw.",
    ),
    FETCH_SITE: (
        "Open deze pagina vanuit de kluis",
        "Deze pagina gaat alleen open vanuit de pagina's van de kluis zelf, niet vanaf een andere "
        "website of een ander adres. Er is niets gelezen of vastgelegd. Ga naar de startpagina en "
        "open haar daar.",
    ),
}
_CASE_PATH = re.compile(r"^/zaken/([0-9a-f-]{36})(/|$)")


def is_api_path(path: str) -> bool:
    return path == "/api" or path.startswith(("/api/", "/healthz", "/readyz"))


def _html(original: Handler) -> Handler:
    async def handle(request: Request, exc: Exception) -> Response:
        if is_api_path(request.url.path):
            return await original(request, exc)
        if isinstance(exc, errors.StepUpRequired):
            # Forms that need a step-up post to the path of their own page: come back to it. A checked
            # form goes there with a 307, so the browser re-sends what was typed and the step-up page
            # carries it along (``routes.step_up``); nothing is lost, nothing is kept on the server.
            target = quote(request.url.path, safe="/")
            if request.method == "POST" and getattr(request.state, "verified_fields", None) is not None:
                return RedirectResponse(f"/bevestigen?terug={target}&mee=true", status_code=307)
            return RedirectResponse(f"/bevestigen?terug={target}", status_code=303)
        answer = await original(request, exc)
        status = answer.status_code
        if isinstance(exc, CsrfRefused):
            title, text = _CSRF_MESSAGE
        elif isinstance(exc, errors.VaultError) and exc.rule in _RULE_MESSAGES:
            title, text = _RULE_MESSAGES[exc.rule]
        else:
            title, text = _MESSAGES.get(status, _MESSAGES[500])
        headers = {k: v for k, v in answer.headers.items() if k.lower() == "retry-after"}
        if is_public_path(request.url.path):  # a citizen's page: the quick exit stays (D2)
            response = public_error_page(request, status)
            response.headers.update(headers)
            return response
        actor = getattr(request.state, "web_actor", None)
        match = _CASE_PATH.match(request.url.path)
        offer_break_glass = (
            status == 403
            and isinstance(exc, errors.Forbidden)
            and not isinstance(exc, CsrfRefused)
            and exc.rule != FETCH_SITE
            and isinstance(actor, WebActor)
            and actor.role in {"medewerker", "vertrouwensarts", "teamleider"}
            and match is not None
        )
        response = page(
            request,
            "error.html",
            actor=actor if isinstance(actor, WebActor) else None,
            status_code=status,
            title=title,
            text=text,
            status=status,
            break_glass_case=match.group(1) if offer_break_glass and match else None,
        )
        response.headers.update(headers)
        return response

    return handle


def _other_method_route(request: Request) -> bool:
    """Another page route has this very path with other methods (``POST /fg/logcontrole/controle``),
    while the route that matched took a segment of it for an id (``GET /fg/logcontrole/{finding_id}``)."""
    from vault.web.routes import ROUTERS  # the page routes import this module's neighbours

    routes = [route for router in ROUTERS for route in router.routes if isinstance(route, APIRoute)]
    matched = {route.path for route in routes if route.matches(request.scope)[0] == Match.FULL}
    return any(
        route.matches(request.scope)[0] == Match.PARTIAL and route.path not in matched for route in routes
    )


async def _answer(request: Request, exc: Exception) -> Response:
    """``exc`` as the app answers it on a page (the wrapped handler of its class)."""
    handlers = request.app.exception_handlers
    handler = next(handlers[cls] for cls in type(exc).__mro__ if cls in handlers)
    answer: Response = await handler(request, exc)
    return answer


def _validation(original: Handler) -> Handler:
    """A page's request that fails validation in its path or query string was reached by a link (cut
    off, mistyped, or an old one), not by a form: the path answers 404 "Niet gevonden" (405 when the
    path belongs to a route of other methods), a query parameter that is not valid is left out (303 to
    the same page without it: ``/login?reden=…`` shows the login page). A form's body keeps 422. The
    API keeps its JSON 422."""
    html = _html(original)

    async def handle(request: Request, exc: Exception) -> Response:
        if is_api_path(request.url.path) or not isinstance(exc, RequestValidationError):
            return await html(request, exc)
        places = [tuple(err.get("loc", ())) for err in exc.errors()]
        if places and all(loc[:1] == ("path",) for loc in places):
            if _other_method_route(request):
                return await _answer(request, StarletteHTTPException(405))
            return await _answer(request, errors.NotFound("no such page"))
        if request.method in {"GET", "HEAD"} and places and all(loc[:1] == ("query",) for loc in places):
            refused = {str(loc[1]) for loc in places if len(loc) > 1}
            kept = [(k, v) for k, v in request.query_params.multi_items() if k not in refused]
            if len(kept) < len(request.query_params.multi_items()):
                back = request.url.path + (f"?{urlencode(kept)}" if kept else "")
                return RedirectResponse(local_path(back, limit=4096), status_code=303)
            return await _answer(request, errors.NotFound("no such page"))
        return await html(request, exc)

    return handle


def install_web_errors(app: FastAPI) -> None:
    """Wrap the API's handlers (HTML for pages) and turn the session signals into redirects."""
    for key, handler in list(app.exception_handlers.items()):
        if key is RequestValidationError:
            app.exception_handlers[key] = _validation(handler)  # type: ignore[arg-type]
        elif isinstance(key, type) and issubclass(key, Exception) and "WebSocket" not in key.__name__:
            app.exception_handlers[key] = _html(handler)  # type: ignore[arg-type]

    async def login_required(request: Request, exc: Exception) -> Response:
        reason = exc.reason if isinstance(exc, LoginRequired) else ""
        target = "/login?reden=verlopen" if reason == "expired" else "/login"
        response = RedirectResponse(target, status_code=303)
        clear_session_cookie(response, request.app.state.vault)
        return response

    async def second_factor(request: Request, exc: Exception) -> Response:
        return RedirectResponse("/tweede-factor", status_code=303)

    app.exception_handlers[LoginRequired] = login_required
    app.exception_handlers[SecondFactorRequired] = second_factor
