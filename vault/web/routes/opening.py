"""Opening a case in the browser: a report taken by phone, advice to a help seeker (D2), advice to a
professional (D3); the triage deadline shown at once (D5)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
