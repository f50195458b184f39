"""Application logs: structlog, JSON lines, a request id per request, and redaction.

Redaction is the last line of defence, not the first: code logs ids and event names only. The
processor replaces the values of keys that name secrets or personal data, and masks anything in
any value that looks like a BSN, a TOTP code, an e-mail address or a long token.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import MutableMapping
from datetime import UTC, datetime
from typing import Any

import structlog

__all__ = ["REDACTED", "configure_logging", "redact"]

REDACTED = "***"

_SENSITIVE_KEY = re.compile(
    r"(pass(word)?|secret|token|cookie|authorization|otp|totp|code|key|bsn|name|birth|address|"
    r"email|phone|content|text|body|title|filename|reporter|subject|csrf|recovery)",
    re.IGNORECASE,
)
# Keys that contain a sensitive word but only ever hold ids or safe codes.
_SAFE_KEYS = frozenset(
    {
        "event",
        "level",
        "timestamp",
        "logger",
        "request_id",
        "status_code",
        "error",
        "tag",
        "case_id",
        "actor_id",
        "object_id",
        "document_id",
        "rule",
        "exit_code",
        "method",
        "path_template",
    }
)
_PATTERNS = (
    re.compile(r"\b\d{3}[. ]?\d{2}[. ]?\d{2}[. ]?\d{2}\b"),  # BSN-like (also 6-digit codes inside it)
    re.compile(r"\b\d{6,8}\b"),  # TOTP codes and other short numeric secrets
    re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+"),  # e-mail
    re.compile(r"\b[A-Za-z0-9_\-]{24,}\b"),  # tokens, base32/base64 secrets
)


# An event's name as the code writes it (``kek_epoch_destruction_postponed``): snake_case words. Left
# as it is (the token pattern would mask any name of 24 characters or more); a secret has no such form
# (hex, base32 and base64 tokens have no underscores between lowercase words).
_EVENT_NAME = re.compile(r"[a-z]+(?:_[a-z0-9]+)+")


def _scrub(value: str) -> str:
    for pattern in _PATTERNS:
        value = pattern.sub(REDACTED, value)
    return value


def redact(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        value = event_dict[key]
        if key not in _SAFE_KEYS and _SENSITIVE_KEY.search(key):
            event_dict[key] = REDACTED
        elif key == "event" and isinstance(value, str) and _EVENT_NAME.fullmatch(value):
            continue
        elif isinstance(value, str) and key not in {"timestamp", "level", "logger"}:
            event_dict[key] = _scrub(value) if key not in {"request_id", "case_id", "actor_id"} else value
        elif not isinstance(value, str | int | float | bool | type(None)):
            event_dict[key] = _scrub(repr(value))
    return event_dict


def _drop_exception_text(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    # A traceback's locals and messages can hold personal data: keep only the exception type.
    exc_info = event_dict.pop("exc_info", None)
    if exc_info:
        exc = (
            sys.exc_info()[1]
            if exc_info is True
            else (exc_info[1] if isinstance(exc_info, tuple) else exc_info)
        )
        if isinstance(exc, BaseException):
            event_dict["exception_type"] = type(exc).__name__
    return event_dict


class _LibraryRecords(logging.Formatter):
    """Other libraries' records (uvicorn, SQLAlchemy, asyncio) as our JSON lines: the message
    scrubbed, an exception by its type only. Uvicorn logs every exception that reaches it ("Exception
    in ASGI application") with its traceback, whose text can hold a driver's DETAIL line or a
    statement's parameters: the traceback is never written."""

    def format(self, record: logging.LogRecord) -> str:
        try:
            message = record.getMessage().strip()
        except (TypeError, ValueError):
            message = str(record.msg)
        event: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat().replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": message,
        }
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None:
            event["exception_type"] = type(exc).__name__
        return json.dumps(redact(None, record.levelname, event), default=str)


def configure_logging(level: str = "INFO", *, stream: Any = None) -> None:
    """JSON lines on stderr, ours (structlog) and other libraries' alike. Idempotent."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(_LibraryRecords())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # uvicorn's access log would print URLs and client addresses in its own format: keep ours only.
    logging.getLogger("uvicorn.access").disabled = True
    logging.getLogger("alembic").setLevel(logging.WARNING)  # schema checks at start are not news
    # fontTools (fpdf2's font subsetting) names the glyphs of every PDF at INFO: the letters of the
    # names in an inzage copy. Its warnings are enough.
    logging.getLogger("fontTools").setLevel(logging.WARNING)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _drop_exception_text,
            redact,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(stream or sys.stderr),
        cache_logger_on_first_use=False,
    )
