"""Domain errors of the vault.

Every layer raises these; they are mapped to HTTP status codes in exactly one place
(``vault.http.errors``) and to CLI exit codes in ``vault.cli``. Messages are safe to show:
they never carry personal data, secrets, keys, tokens or codes.
"""

from __future__ import annotations

__all__ = [
    "AuthFailed",
    "ConfigError",
    "Conflict",
    "Destroyed",
    "Forbidden",
    "InsufficientStorage",
    "Integrity",
    "InvalidInput",
    "NotFound",
    "RateLimited",
    "StepUpRequired",
    "TooLarge",
    "Unavailable",
    "VaultError",
]


class VaultError(Exception):
    """Base of every domain error. ``str(err)`` is safe to show to a client or operator.

    ``rule`` names the rule that refused (``d8-consent-only``, ``postpone-too-far`` …) for a caller
    that answers each rule in its own words (the Dutch pages); the English message is never matched.
    """

    code = "error"

    def __init__(self, message: str = "", *, rule: str | None = None) -> None:
        super().__init__(message or self.__class__.__doc__ or self.code)
        self.rule = rule

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.code


class NotFound(VaultError):
    """The object does not exist, or the actor may not know that it exists."""

    code = "not_found"


class Forbidden(VaultError):
    """The policy denied this action."""

    code = "forbidden"


class AuthFailed(VaultError):
    """Authentication failed."""

    code = "auth_failed"


class StepUpRequired(VaultError):
    """This action needs a recent second-factor check."""

    code = "step_up_required"


class RateLimited(VaultError):
    """Too many attempts; try again later."""

    code = "rate_limited"

    def __init__(self, message: str = "", *, retry_after: int = 60) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class InvalidInput(VaultError):
    """The request is malformed or violates a rule."""

    code = "invalid_input"


class TooLarge(InvalidInput):
    """The upload is larger than the configured limit (HTTP 413)."""

    code = "too_large"


class Conflict(VaultError):
    """The request conflicts with the current state."""

    code = "conflict"


class Integrity(VaultError):
    """Stored data failed an integrity check (authentication tag, hash or chain)."""

    code = "integrity"


class Destroyed(VaultError):
    """The case was destroyed (its keys were erased); its content can no longer be read."""

    code = "destroyed"


class Unavailable(VaultError):
    """A dependency (database, audit log, key provider) is unavailable; nothing was disclosed."""

    code = "unavailable"


class ConfigError(VaultError):
    """The configuration is invalid. The message names the setting."""

    code = "config_error"


class InsufficientStorage(Unavailable):
    """Free disk space is below the reserve kept for the audit log: uploads are refused, reads and
    logins go on (docs/security.md "Review findings: availability")."""

    code = "insufficient_storage"
