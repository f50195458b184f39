"""The context a service call runs in: who acts, from where, at what time.

Services take a ``Context``, never an HTTP request, so the CLI audits exactly as the API does.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Protocol

__all__ = ["Clock", "Context", "FrozenClock", "SystemClock", "new_request_id"]


class Clock(Protocol):
    def now(self) -> datetime:
        """An aware UTC datetime."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A controllable clock for tests (the only test double the project allows)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when.astimezone(UTC)

    def advance(self, **kwargs: float) -> None:
        from datetime import timedelta

        self._now = self._now + timedelta(**kwargs)


def new_request_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class Context:
    """Who acts (ids and role only, never names), through which access point, when."""

    actor_id: str | None
    role: str | None
    access_point: str
    org_id: str | None = None
    on_behalf_of: str | None = None
    session_id: str | None = None
    second_factor_verified: bool = False
    factor_checked_at: datetime | None = None  # last second-factor check, for step-up (None: never)
    request_id: str = field(default_factory=new_request_id)
    clock: Clock = field(default_factory=SystemClock)

    @classmethod
    def system(cls, access_point: str = "cli", clock: Clock | None = None) -> Context:
        return cls(actor_id="system", role="system", access_point=access_point, clock=clock or SystemClock())

    def now(self) -> datetime:
        return self.clock.now()

    def for_subject(self, subject_id: str) -> Context:
        """The same actor handling a data subject's request (inzage, an access request): its audit
        entries name the subject as "on whose behalf" (D16; an id, ``subject:<id>``)."""
        return replace(self, on_behalf_of=f"subject:{subject_id[:56]}")  # fits the column (64)

    def stepped_up_within(self, minutes: int) -> bool:
        """True when the second factor was checked in the last ``minutes`` minutes."""
        from datetime import timedelta

        return self.factor_checked_at is not None and self.now() - self.factor_checked_at <= timedelta(
            minutes=minutes
        )
