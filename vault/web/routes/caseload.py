"""Finding cases: a case reference (VT-XXXX-XXXX) or short id resolves; the team leader's caseload."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
