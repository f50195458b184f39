"""Journal notes (aantekeningen) on a case: added and read through the gate, encrypted under the case key."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["cases"])
