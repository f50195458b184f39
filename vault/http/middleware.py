"""Pure-ASGI middleware: a request id per request, security headers on every response, the small-body
limit, and the shortcut to the one hot route."""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import structlog
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vault.context import new_request_id

__all__ = ["MAX_SMALL_BODY_BYTES", "HotRoute", "RequestContextMiddleware", "SmallBodyLimitMiddleware"]

Endpoint = Callable[[Request], Awaitable[Response]]

# Bodies that are read whole into memory (JSON models, urlencoded forms) stop here; the largest real
# one (a case with 50 subjects) is a few tens of KiB. Streamed uploads have their own limit.
MAX_SMALL_BODY_BYTES = 1 << 20

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    # Pages: no inline script or style, nothing from elsewhere (a download sets its own, stricter one).
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        b"form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
    ),
)


class RequestContextMiddleware:
    """Binds a fresh request id to the log context and adds it and the security headers.

    Pure ASGI (not BaseHTTPMiddleware) so streamed downloads pass through without buffering.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.append((b"x-request-id", request_id.encode()))
                for name, value in SECURITY_HEADERS:
                    if name not in present:
                        headers.append((name, value))
                if b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


# Routes that stream their body chunk by chunk (and enforce VAULT_MAX_UPLOAD_BYTES themselves). Every
# other body is read whole by the framework or the form parser. Multipart bodies are always streamed
# (the upload form, the public intake forms) and have their own limits.
# The routes that read their body as a stream, each bounding it itself (an upload's declared size and
# VAULT_MAX_UPLOAD_BYTES; the multipart forms' per-field limits, ``vault.web.multipart``). Only these
# paths are exempt from the small-body limit; a content type says nothing about where a body goes.
STREAMED_UPLOAD_PATHS = (
    re.compile(r"^/api/v1/cases/[^/]+/documents$"),
    re.compile(r"^/api/v1/cases/[^/]+/statements$"),
    re.compile(r"^/zaken/[^/]+/documenten$"),
    re.compile(r"^/zaken/[^/]+/documenten/[^/]+/zienswijze$"),
    re.compile(r"^/(?:melden|advies)/(?:professional|burger)$"),
)


class SmallBodyLimitMiddleware:
    """Refuse (413) a body over MAX_SMALL_BODY_BYTES unless the route streams it.

    FastAPI reads ``request.body()`` whole before validating a body model, whatever the content type,
    and the urlencoded form parser does too: without this, a 1 GB "login" would be held in memory.
    A declared Content-Length over the limit is refused before a byte is read; a chunked body is
    counted as it arrives. The refusal is raised when the route reads, inside the app's error
    handling, so the API answers JSON and the pages a Dutch error page.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in {"GET", "HEAD", "OPTIONS"} or _streamed(scope):
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if (
            declared is not None
            and declared.isascii()
            and declared.isdigit()
            and int(declared) > MAX_SMALL_BODY_BYTES
        ):

            async def refuse() -> Message:
                raise HTTPException(413, f"the request body is larger than {MAX_SMALL_BODY_BYTES} bytes")

            await self.app(scope, refuse, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > MAX_SMALL_BODY_BYTES:
                    raise HTTPException(413, f"the request body is larger than {MAX_SMALL_BODY_BYTES} bytes")
            return message

        await self.app(scope, counted, send)


def _streamed(scope: Scope) -> bool:
    path = scope.get("path", "")
    return any(pattern.match(path) for pattern in STREAMED_UPLOAD_PATHS)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            decoded: str = value.decode("latin-1")
            return decoded
    return None


class HotRoute:
    """Serve ``GET`` requests on one path pattern by calling its endpoint directly: no router walk, no
    dependency machinery, no exception-middleware layers (measured in docs/architecture.md, "The
    download"). The endpoint is the same function the app registers for that path (for the schema
    and every other method), and a raised error is answered by the app's own exception handlers, so
    what a client sees is the same either way. Sits inside ``RequestContextMiddleware`` (request id,
    security headers); a GET has no body, so the body limit has nothing to count.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        pattern: re.Pattern[str],
        endpoint: Endpoint,
        handlers: Mapping[Any, Callable[[Request, Any], Response | Awaitable[Response]]],
    ) -> None:
        self.app = app
        self._pattern = pattern
        self._endpoint = endpoint
        self._handlers = handlers  # the app's dict, read per error (the web layer wraps its entries)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = self._pattern.match(scope["path"]) if scope["type"] == "http" else None
        if match is None or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        scope["path_params"] = match.groupdict()
        request = Request(scope, receive, send)
        try:
            response = await self._endpoint(request)
        except Exception as exc:
            handler = next((self._handlers[k] for k in type(exc).__mro__ if k in self._handlers), None)
            if handler is None:
                raise
            answer = handler(request, exc)
            response = await answer if inspect.isawaitable(answer) else answer
        await response(scope, receive, send)
