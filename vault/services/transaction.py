"""A transaction that commits recorded refusals.

A refused authentication leaves traces that must survive the refusal: the failed attempt (rate
limits) and its audit entry. A service raises ``Refusal(error)`` after flushing them; ``transaction``
commits and then raises ``error``. Anything else rolls back as usual. Used by the API endpoints
and the CLI alike; raised under a plain ``Database.session()`` a Refusal rolls back (fail closed).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from vault.db import Database
from vault.errors import VaultError

__all__ = ["Refusal", "transaction"]


class Refusal(Exception):
    """The refusal was recorded in the current transaction; commit it, then raise ``error``."""

    def __init__(self, error: VaultError) -> None:
        super().__init__(error.message)
        self.error = error


@contextmanager
def transaction(db: Database) -> Iterator[Session]:
    refused: VaultError | None = None
    with db.session() as session:
        try:
            yield session
        except Refusal as exc:
            refused = exc.error
    if refused is not None:
        raise refused
