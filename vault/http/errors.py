"""The one place where domain errors become HTTP responses.

Every error body is ``{"error": code, "detail": safe message}``; nothing else (no traceback, no
input echo). ``NotFound`` is also what a denied read of an unknown-to-the-actor case returns, so a
403 never reveals that a case exists.
"""

from __future__ import annotations

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from vault import errors

__all__ = ["ERROR_RESPONSES", "STATUS_BY_ERROR", "ErrorBody", "install_error_handlers", "status_for"]

log = structlog.get_logger(__name__)

STATUS_BY_ERROR: dict[type[errors.VaultError], int] = {
    errors.InvalidInput: 400,
    errors.TooLarge: 413,
    errors.AuthFailed: 401,
    errors.StepUpRequired: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.Destroyed: 410,
    errors.RateLimited: 429,
    errors.Integrity: 500,
    errors.Unavailable: 503,
    errors.InsufficientStorage: 507,
    errors.ConfigError: 503,
}


class ErrorBody(BaseModel):
    """The body of every error answer of the API."""

    error: str
    detail: str


def _error_responses() -> dict[int | str, dict[str, object]]:
    """What any API operation may answer besides its success: declared once, for every operation.

    Derived from the mapping above (plus 422 for request validation and 413 for bodies over the
    limit), so the OpenAPI schema names every status the API can send and its body (checked by
    tests/robustness/test_schemathesis_api.py).
    """
    described: dict[int, list[str]] = {}
    for cls, status in STATUS_BY_ERROR.items():
        described.setdefault(status, []).append(cls.code)
    described.setdefault(413, []).append("http_error")
    described.setdefault(422, []).append("invalid_input")
    described.setdefault(500, []).append("internal")
    return {
        status: {"model": ErrorBody, "description": "error: " + ", ".join(sorted(set(codes)))}
        for status, codes in sorted(described.items())
    }


def status_for(exc: errors.VaultError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 500


def _body(code: str, detail: str) -> dict[str, str]:
    return {"error": code, "detail": detail}


ERROR_RESPONSES = _error_responses()


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(errors.VaultError)
    async def _vault_error(request: Request, exc: errors.VaultError) -> JSONResponse:
        status = status_for(exc)
        headers: dict[str, str] = {}
        if isinstance(exc, errors.RateLimited):
            headers["Retry-After"] = str(exc.retry_after)
        if isinstance(exc, errors.StepUpRequired):
            headers["WWW-Authenticate"] = 'Vault step-up="totp"'
        if status >= 500:
            log.error("request_failed", error=exc.code)
        return JSONResponse(_body(exc.code, exc.message), status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        # Name the fields and the problem, never the submitted values.
        problems = []
        for err in exc.errors()[:10]:
            loc = ".".join(str(part) for part in err.get("loc", ()))
            problems.append(f"{loc}: {err.get('msg', 'invalid')}")
        return JSONResponse(_body("invalid_input", "; ".join(problems) or "invalid request"), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else "request refused"
        return JSONResponse(
            _body("http_error", detail), status_code=exc.status_code, headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(ClientDisconnect)
    async def _disconnect(request: Request, exc: ClientDisconnect) -> JSONResponse:
        # The client went away mid-upload; nothing was stored (the blob's temp file is removed).
        return JSONResponse(_body("invalid_input", "the upload was interrupted"), status_code=400)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected_error", error=type(exc).__name__)
        return JSONResponse(_body("internal", "internal error; nothing was disclosed"), status_code=500)
