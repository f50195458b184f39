"""Case workflow endpoints beside ``cases.py``: monitoring postponed with a reason (D7), assignment."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["cases"])
