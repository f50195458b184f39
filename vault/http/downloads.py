"""Document responses, the same for the API and the web pages: the headers every download carries and
the declared-size check every upload makes before reading a byte."""

from __future__ import annotations

from fastapi import Request

from vault.errors import InvalidInput
from vault.http.streaming import content_disposition
from vault.runtime import Vault

__all__ = ["check_declared_size", "download_headers"]


def download_headers(
    filename: str, *, length: int | None = None, version: int | None = None
) -> dict[str, str]:
    """Attachment with the given name; sandboxed (a document never runs as a page of the vault's
    origin) and never cached (a shared computer keeps no copy)."""
    headers = {
        "Content-Disposition": content_disposition(filename),
        "Content-Security-Policy": "sandbox; default-src 'none'",
        "Cache-Control": "no-store",
    }
    if length is not None:
        headers["Content-Length"] = str(length)
    if version is not None:
        headers["X-Document-Version"] = str(version)
    return headers


def check_declared_size(request: Request, vault: Vault) -> None:
    """Refuse an upload whose ``Content-Length`` is over the limit before any byte is read."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > vault.settings.max_upload_bytes:
        raise InvalidInput(
            f"the document is larger than the limit of {vault.settings.max_upload_bytes} bytes"
        )
